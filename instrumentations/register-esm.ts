/**
 * `node --import @costtrace/node/register`: registers OpenTelemetry's import-in-the-middle hook first, so that
 * ES modules the app imports later (openai, pg, @anthropic-ai/sdk) can be instrumented, then starts tracing.
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
await import('./register.ts');
