/**
 * `GET /v1/insights?start_date&end_date` (docs/contract.md §11): what looks wrong in a window of UTC days (end
 * inclusive) — each item a type, a severity, a human message and the data behind it — critical first. The
 * thresholds are those of features/insights/detect.ts INSIGHT_THRESHOLDS, echoed in the answer.
 */
import type { FastifyInstance } from 'fastify';
import { parseDateParam } from '../../api/dates.ts';
import { MAX_INSIGHT_DAYS } from '../../core/limits.ts';
import { DAY_MICROS } from '../../core/time.ts';
import { InputError } from '../../http/errors.ts';
import { READ_ERRORS } from '../../http/schemas.ts';
import type { Store } from '../../store.ts';
import { detectInsights, INSIGHT_THRESHOLDS } from './detect.ts';

const INSIGHTS_RESPONSE = {
  type: 'object',
  additionalProperties: false,
  required: ['start_date', 'end_date', 'items', 'thresholds'],
  properties: {
    start_date: { type: 'string' },
    end_date: { type: 'string' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'severity', 'message', 'data'],
        properties: {
          type: {
            type: 'string',
            enum: [
              'low_gross_margin',
              'customer_losing_money',
              'cost_concentration',
              'cost_per_user_change',
              'anomalous_traces',
              'unpriced_usage',
            ],
          },
          severity: { type: 'string', enum: ['warning', 'critical'] },
          message: { type: 'string' },
          data: {
            type: 'object',
            additionalProperties: true,
            description: 'the subject (customer_id, trace_id, model…) and the values and threshold behind it',
          },
        },
      },
    },
    thresholds: { type: 'object', additionalProperties: { type: 'number' } },
  },
} as const;

export async function insightsApi(app: FastifyInstance, deps: { store: Store }): Promise<void> {
  app.get<{ Querystring: { start_date: string; end_date: string } }>(
    '/v1/insights',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          'What looks wrong in a window: margins, losing customers, concentration, cost per user, anomalous traces, unpriced usage',
        tags: ['insights'],
        querystring: {
          type: 'object',
          required: ['start_date', 'end_date'],
          properties: { start_date: { type: 'string' }, end_date: { type: 'string' } },
        },
        response: { 200: INSIGHTS_RESPONSE, ...READ_ERRORS },
      },
    },
    async (request) => {
      const q = request.query;
      const fromMicros = parseDateParam(q.start_date, 'start_date');
      const toMicros = parseDateParam(q.end_date, 'end_date') + DAY_MICROS;
      const days = Number((toMicros - fromMicros) / DAY_MICROS);
      if (days < 1 || days > MAX_INSIGHT_DAYS) {
        throw new InputError([
          {
            loc: ['query', 'end_date'],
            msg: days < 1 ? 'end_date is before start_date' : `at most ${MAX_INSIGHT_DAYS} days; got ${days}`,
            type: 'value_error',
          },
        ]);
      }
      const inputs = await deps.store.insightInputs(
        fromMicros,
        toMicros,
        INSIGHT_THRESHOLDS.anomalyWarning,
        INSIGHT_THRESHOLDS.maxAnomalousTraces,
      );
      return {
        start_date: q.start_date,
        end_date: q.end_date,
        items: detectInsights(inputs),
        thresholds: { ...INSIGHT_THRESHOLDS },
      };
    },
  );
}
