import { Agent, request } from 'node:http';

/**
 * The least a keep-alive JSON GET can do with node:http alone: the baseline that shows what
 * `InternalHttpClient` (node:http, header checks, deadline, breaker) adds to one call. It sends
 * the same headers as the client and parses the JSON answer as it does.
 */
export class NodeHttpCaller {
  private readonly agent = new Agent({ keepAlive: true });

  constructor(
    private readonly baseUrl: string,
    private readonly headers: Readonly<Record<string, string>>,
  ) {}

  get(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const call = request(
        `${this.baseUrl}${path}`,
        { method: 'GET', agent: this.agent, headers: this.headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
            } catch (error) {
              reject(error as Error);
            }
          });
          response.on('error', reject);
        },
      );
      call.on('error', reject);
      call.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
