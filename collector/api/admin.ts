/**
 * Operations (admin scope): `POST /v1/admin/snapshot {"path"}` writes a consistent copy of the database while
 * ingest goes on and answers once it is complete; `costtrace serve --db PATH` opens it.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { HttpError, InputError } from '../http/errors.ts';
import { errors } from '../http/schemas.ts';
import type { Store } from '../store/store.ts';

const SNAPSHOT_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'bytes'],
  properties: { path: { type: 'string' }, bytes: { type: 'integer' } },
} as const;

export async function adminApi(app: FastifyInstance, deps: { store: Store }): Promise<void> {
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
          properties: { path: { type: 'string', minLength: 1, maxLength: 4096, description: 'a new file' } },
        },
        response: { 200: SNAPSHOT_RESPONSE, ...errors(400, 401, 403, 409, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const path = isAbsolute(request.body.path) ? request.body.path : resolve(request.body.path);
      if (existsSync(path)) throw new HttpError(409, `${path} already exists; snapshots never overwrite a file`);
      const folder = dirname(path);
      if (!existsSync(folder) || !statSync(folder).isDirectory()) {
        throw new InputError([{ loc: ['body', 'path'], msg: `folder ${folder} does not exist`, type: 'value_error' }]);
      }
      try {
        return { path, ...(await deps.store.snapshot(path)) };
      } catch (err) {
        const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
        throw new InputError([
          { loc: ['body', 'path'], msg: `could not write the snapshot there: ${reason}`, type: 'value_error' },
        ]);
      }
    },
  );
}
