import { Module } from '@nestjs/common';
import { HelloController } from './hello.controller';

/** A NestJS application with nothing but one route: the framework's floor. */
@Module({ controllers: [HelloController] })
export class HelloModule {}
