import type { AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/** The HTTP adapters the kit runs on; its Nest-level tests run once on each. */
export const TEST_HTTP_ADAPTERS = ['express', 'fastify'] as const;

/** A fresh Nest HTTP adapter of `kind`, for `moduleRef.createNestApplication(adapter, ...)`. */
export function testHttpAdapter(kind: (typeof TEST_HTTP_ADAPTERS)[number]): AbstractHttpAdapter {
  return kind === 'express' ? new ExpressAdapter() : new FastifyAdapter();
}
