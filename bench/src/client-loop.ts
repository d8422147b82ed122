// The client fixture of `npm run bench` (group "breaker"): the internal HTTP client of
// @zt/service-chassis calling a local server from a closed loop, with its opossum breaker,
// without it (the upstream option `breaker: false`), or in its place a bare node:http call or
// axios with the trust kit's adapter (@zt/service-utils-axios), on the runner's command (IPC,
// one run at a time).
import { Agent } from 'node:http';
import { internalHeaders } from '@zt/service-utils';
import { InternalHttpClient } from '@zt/service-chassis';
import { createInternalAxios } from '@zt/service-utils-axios';
import { runClosedLoop } from './client/closed-loop';
import { NodeHttpCaller } from './client/node-http-caller';
import { loadClientLoopConfigFromProcess } from './config/client-loop.config';

const UPSTREAM = 'upstream';

interface RunCommand {
  readonly type: 'run';
  readonly mode: 'breaker' | 'direct' | 'node-http' | 'axios';
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
}

function main(): void {
  const config = loadClientLoopConfigFromProcess();
  const options = (breaker: boolean) => ({
    callerName: 'bench',
    upstreams: { [UPSTREAM]: { baseUrl: config.upstreamUrl, breaker } },
    client: config.client,
    internalAuth: config.internalAuth,
  });
  // Two clients alike but for the breaker: the supported switch, for measurement only.
  const clients = {
    breaker: new InternalHttpClient(options(true)),
    direct: new InternalHttpClient(options(false)),
  };
  const bare = new NodeHttpCaller(config.upstreamUrl, {
    ...internalHeaders(config.internalAuth),
    'X-Caller-Service': 'bench',
  });
  // As a team on axios would call: the adapter's instance, a keep-alive agent, the same headers.
  const axiosAgent = new Agent({ keepAlive: true });
  const adapted = createInternalAxios({
    baseURL: config.upstreamUrl,
    timeoutMs: config.client.timeoutMs,
    credential: config.internalAuth,
    axios: { httpAgent: axiosAgent, headers: { 'X-Caller-Service': 'bench' } },
  });

  const send = (message: unknown) => process.send?.(message);
  process.on('message', (message: RunCommand) => {
    if (message?.type !== 'run') return;
    const { mode, path } = message;
    let call: () => Promise<unknown>;
    if (mode === 'node-http') {
      call = () => bare.get(path);
    } else if (mode === 'axios') {
      call = async () => (await adapted.get<unknown>(path)).data;
    } else {
      const client = clients[mode];
      call = () => client.request(UPSTREAM, { method: 'GET', path });
    }
    runClosedLoop(call, message.connections, message.seconds).then(
      (result) => send({ type: 'result', mode, ...result }),
      (error: Error) => send({ type: 'error', message: error.message }),
    );
  });
  const stop = () => {
    for (const client of Object.values(clients)) client.onApplicationShutdown();
    bare.close();
    axiosAgent.destroy();
    process.exit(0);
  };
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
  send({ type: 'ready' });
}

main();
