/**
 * Operations (admin scope): `POST /v1/admin/snapshot {"path"}` writes a consistent copy of the database while
 * ingest goes on and answers once it is complete; `costtrace serve --db PATH` opens it. Where a copy may go is
 * db/snapshot.ts's rule (docs/contract.md §12 v3); answers never carry engine text, paths or process ids — the
 * failure itself goes to the server log.
 */
import type { FastifyInstance } from 'fastify';
import { SnapshotRefused } from '../core/errors.ts';
import { MAX_SNAPSHOT_PATH_LENGTH } from '../core/limits.ts';
import { HttpError, InputError } from '../http/errors.ts';
import { errors } from '../http/schemas.ts';
import type { Store } from '../store.ts';

const SNAPSHOT_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'bytes'],
  properties: { path: { type: 'string' }, bytes: { type: 'integer' } },
} as const;

/** Failures the requester can act on, by what the system or the engine says, as fixed messages. */
const KNOWN_FAILURES: ReadonlyArray<readonly [RegExp, string]> = [
  [/EACCES|EPERM|permission denied/i, 'the server may not write there (permission denied)'],
  [/EROFS|read-only file system/i, 'the folder is on a read-only file system'],
  [/ENOSPC|no space left/i, 'no space left on the device for the copy'],
  [/EDQUOT|quota/i, 'the disk quota does not leave room for the copy'],
];

export interface AdminDeps {
  readonly store: Store;
  /** COSTTRACE_SNAPSHOT_DIR: when set, snapshots are written only inside this folder. */
  readonly snapshotDir?: string;
}

export async function adminApi(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const refusal = (msg: string) => new InputError([{ loc: ['body', 'path'], msg, type: 'value_error' }]);
  app.post<{ Body: { path: string } }>(
    '/v1/admin/snapshot',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Write a consistent copy of the database (while ingest goes on); open it with serve --db',
        tags: ['admin'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['path'],
          properties: {
            path: {
              type: 'string',
              minLength: 1,
              maxLength: MAX_SNAPSHOT_PATH_LENGTH,
              description:
                "a new file in an existing folder; never the live database's own files; inside " +
                'COSTTRACE_SNAPSHOT_DIR when that is set (relative paths are taken from it)',
            },
          },
        },
        response: { 200: SNAPSHOT_RESPONSE, ...errors(400, 401, 403, 409, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      try {
        return await deps.store.snapshot(request.body.path, deps.snapshotDir);
      } catch (err) {
        if (err instanceof SnapshotRefused) {
          throw err.kind === 'conflict' ? new HttpError(409, err.message) : refusal(err.message);
        }
        request.log.error({ err }, 'snapshot failed');
        const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${err instanceof Error ? err.message : ''}`;
        const known = KNOWN_FAILURES.find(([pattern]) => pattern.test(text));
        if (known) throw refusal(`could not write the snapshot: ${known[1]}`);
        throw new Error('snapshot failed');
      }
    },
  );
}
