import { Controller, Get, Header } from '@nestjs/common';

/** `GET /hello`: the same answer as the raw node:http fixture (fixtures/raw-hello.ts). */
@Controller()
export class HelloController {
  @Get('hello')
  @Header('Content-Type', 'text/plain')
  hello(): string {
    return 'hello';
  }
}
