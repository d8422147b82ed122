import { prettyFactory } from 'pino-pretty';
import type { OutputLine } from './launched-process';

/**
 * `text`: short readable lines, for a terminal. `json`: one JSON object a line, as the services
 * write them, for `pino-pretty` or a log store.
 */
export type ConsoleFormat = 'text' | 'json';

/** How {@link StackConsole} shows the stack. */
export interface StackConsoleOptions {
  readonly format: ConsoleFormat;
  /**
   * Every line the services write (true); else only their warnings and errors, and whatever
   * they write that is not a JSON log line (a configuration error, a crash).
   */
  readonly verbose: boolean;
  /** The launcher's own name on its lines, e.g. `start`. */
  readonly source: string;
  /** Colours in the text format (for a terminal). */
  readonly colors?: boolean;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
}

/** Levels at or above `warn`, by name (the services' JSON) or number (pino's default). */
const SHOWN_LEVELS = new Set(['warn', 'error', 'fatal']);
const WARN = 40;

type Level = 'info' | 'warn' | 'error';

/**
 * The console of a running stack: the launcher's own lines, and the lines its services
 * write, filtered and shown in one format. In `text` the services' JSON lines are made
 * readable (pino-pretty, one line each, after `[<service>]`); in `json` they pass through as
 * they are (they carry their `service`), and every other line becomes a JSON line too, all on
 * standard output, so `npm start | npx pino-pretty` reads every line.
 */
export class StackConsole {
  readonly #options: StackConsoleOptions;
  readonly #stdout: NodeJS.WritableStream;
  readonly #stderr: NodeJS.WritableStream;
  readonly #pretty: (line: Record<string, unknown>) => string;

  constructor(options: StackConsoleOptions) {
    this.#options = options;
    this.#stdout = options.stdout ?? process.stdout;
    this.#stderr = options.stderr ?? process.stderr;
    this.#pretty = prettyFactory({
      colorize: options.colors ?? false,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service,req.headers',
      // Structured events have no msg: their name stands in its place.
      messageFormat: (log) => String(log['msg'] ?? log['event'] ?? ''),
    });
  }

  /** A line written by the service `name`: shown, or not, as the options say. */
  service(name: string, line: OutputLine): void {
    const parsed = parseLogLine(line.text);
    if (parsed === undefined) {
      if (this.#options.format === 'json') {
        const level = line.stream === 'stderr' ? 'error' : 'info';
        this.#stdout.write(`${JSON.stringify(entry(level, name, line.text))}\n`);
      } else {
        (line.stream === 'stderr' ? this.#stderr : this.#stdout).write(`[${name}] ${line.text}\n`);
      }
      return;
    }
    if (!this.#options.verbose && !isWarningOrWorse(parsed['level'])) return;
    if (this.#options.format === 'json') this.#stdout.write(`${line.text}\n`);
    else this.#stdout.write(`[${name}] ${this.#pretty(parsed)}`);
  }

  /** One line of the launcher's own. */
  info(message: string, fields: Record<string, unknown> = {}): void {
    this.#own('info', message, fields);
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.#own('warn', message, fields);
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.#own('error', message, fields);
  }

  #own(level: Level, message: string, fields: Record<string, unknown>): void {
    if (this.#options.format === 'json') {
      const line = { ...entry(level, this.#options.source, message), ...fields };
      this.#stdout.write(`${JSON.stringify(line)}\n`);
    } else {
      const stream = level === 'info' ? this.#stdout : this.#stderr;
      stream.write(`[${this.#options.source}] ${message}\n`);
    }
  }
}

/** The console format for `args` (the launcher's command line) and standard output. */
export function consoleFormatFor(args: readonly string[], stdoutIsTty: boolean): ConsoleFormat {
  if (args.includes('--json')) return 'json';
  if (args.includes('--text')) return 'text';
  return stdoutIsTty ? 'text' : 'json';
}

function entry(level: Level, service: string, msg: string): Record<string, unknown> {
  return { time: new Date().toISOString(), level, service, msg };
}

/** The JSON log line in `text`, or undefined when it is not one. */
function parseLogLine(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isWarningOrWorse(level: unknown): boolean {
  if (typeof level === 'number') return level >= WARN;
  return typeof level === 'string' && SHOWN_LEVELS.has(level);
}
