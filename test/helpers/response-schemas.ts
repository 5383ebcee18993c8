/** Validates responses against the route schemas the OpenAPI document is built from (JSON Schema 2020-12). */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { TRACE_SPAN } from '../../collector/http/schemas.ts';

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(TRACE_SPAN);
const compiled = new WeakMap<object, ReturnType<typeof ajv.compile>>();

export function checkResponseAgainstSchema(
  routeSchema: Record<string, unknown> | undefined,
  statusCode: number,
  payload: unknown,
): void {
  if (routeSchema?.hide === true) return; // not part of the API (dashboard files, the docs page)
  const schemas = routeSchema?.response as Record<string, unknown> | undefined;
  const schema = (schemas?.[String(statusCode)] ?? schemas?.[`${String(statusCode)[0]}xx`] ?? schemas?.default) as
    | object
    | undefined;
  if (schema === undefined) {
    throw new Error(`undocumented response: status ${statusCode} has no response schema`);
  }
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(payload)) {
    throw new Error(`response does not match its schema (${statusCode}): ${ajv.errorsText(validate.errors)}`);
  }
}
