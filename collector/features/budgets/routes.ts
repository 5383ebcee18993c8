/**
 * Budgets (docs/contract.md §11): `PUT /v1/budgets/{customer_id}` (admin scope; `*` = the default for every customer
 * without its own), `GET /v1/budgets`, `GET /v1/budgets/{customer_id}/status` (read scope: the customer's spend
 * in the current UTC window against its budget or the default), `DELETE /v1/budgets/{customer_id}` (admin).
 * A budget's `webhook_url` must be an http(s) URL to a public address (docs/contract.md §12 v3, features/budgets/webhook-address.ts:
 * refused with 422 here, checked again on the resolved address when an alert is sent) and is shown to the admin
 * scope only: a URL often carries the receiver's secret, and read tokens go to dashboards.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatPicocents, parseAmount, picocentsToNumber } from '../../../src/money.ts';
import {
  MAX_BUDGET_THRESHOLDS,
  MAX_ID_LENGTH,
  MAX_WEBHOOK_URL_LENGTH,
  WEBHOOK_RESOLVE_TIMEOUT_MS,
} from '../../core/limits.ts';
import { HttpError, InputError } from '../../http/errors.ts';
import { systemResolver } from '../../http/outbound.ts';
import { DELETED_BODY, errors, itemsOf, READ_ERRORS } from '../../http/schemas.ts';
import type { Store } from '../../store.ts';
import { checkWebhookUrl, type WebhookPolicy } from './webhook-address.ts';
import { type Budget, type BudgetWindow, thresholdsReached } from './windows.ts';

const PICO = 10n ** 12n;

const BUDGET = {
  type: 'object',
  additionalProperties: false,
  required: ['customer_id', 'amount_cents', 'amount_cents_exact', 'window', 'thresholds', 'updated_at'],
  properties: {
    customer_id: { type: 'string', description: '"*" is the default for customers without their own' },
    amount_cents: { type: 'number' },
    amount_cents_exact: { type: 'string' },
    window: { type: 'string', enum: ['day', 'week', 'month'] },
    thresholds: { type: 'array', items: { type: 'number' } },
    webhook_url: { type: ['string', 'null'], description: 'shown to the admin scope only' },
    updated_at: { type: 'string' },
  },
} as const;

const STATUS = {
  type: 'object',
  additionalProperties: false,
  required: [
    'customer_id',
    'budget',
    'window',
    'window_start',
    'window_end',
    'spent_cents',
    'spent_cents_exact',
    'amount_cents',
    'thresholds',
    'crossed',
  ],
  properties: {
    customer_id: { type: 'string' },
    budget: { type: 'string', description: 'whose budget applies: the customer id, or "*" (the default)' },
    window: { type: 'string' },
    window_start: { type: 'string' },
    window_end: { type: 'string' },
    spent_cents: { type: 'number' },
    spent_cents_exact: { type: 'string' },
    amount_cents: { type: 'number' },
    thresholds: { type: 'array', items: { type: 'number' } },
    crossed: { type: 'array', items: { type: 'number' }, description: 'thresholds reached in this window' },
  },
} as const;

const ID_PARAMS = {
  type: 'object',
  required: ['customer_id'],
  properties: { customer_id: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } },
} as const;

interface BudgetBody {
  amount_cents: number | string;
  window: BudgetWindow;
  thresholds?: number[];
  webhook_url?: string | null;
}

const iso = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString();

function view(b: Budget, withUrl: boolean) {
  return {
    customer_id: b.customerId,
    amount_cents: picocentsToNumber(b.amountPicocents),
    amount_cents_exact: formatPicocents(b.amountPicocents),
    window: b.window,
    thresholds: b.thresholds.map(Number),
    ...(withUrl ? { webhook_url: b.webhookUrl } : {}),
    updated_at: iso(b.updatedAtMicros),
  };
}

/** A threshold as exact text with at most 6 decimals (DECIMAL(9,6)), or null. */
function thresholdText(t: number): string | null {
  const parsed = parseAmount(t);
  if (!parsed.ok || parsed.picocents <= 0n || parsed.picocents > 10n * PICO) return null;
  if (parsed.picocents % 10n ** 6n !== 0n) return null;
  return formatPicocents(parsed.picocents);
}

export async function budgetsApi(
  app: FastifyInstance,
  deps: {
    store: Store;
    nowMicros: () => bigint;
    /** The per-budget URL policy (default: public addresses only, system DNS). */
    webhookPolicy?: WebhookPolicy;
    /** Whether the request may see webhook URLs (the admin scope); default: nobody. */
    isAdmin?: (request: FastifyRequest) => boolean;
  },
): Promise<void> {
  const policy = deps.webhookPolicy ?? { allowPrivate: false, resolve: systemResolver };
  const isAdmin = deps.isAdmin ?? (() => false);
  app.put<{ Params: { customer_id: string }; Body: BudgetBody }>(
    '/v1/budgets/:customer_id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Set the budget of a customer ("*": the default for customers without their own)',
        tags: ['budgets'],
        params: ID_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['amount_cents', 'window'],
          properties: {
            amount_cents: {
              anyOf: [{ type: 'number' }, { type: 'string' }],
              description: 'cents per window, exact decimal (number or decimal string)',
            },
            window: { type: 'string', enum: ['day', 'week', 'month'], description: 'UTC calendar window' },
            thresholds: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_BUDGET_THRESHOLDS,
              items: { type: 'number' },
              default: [1],
              description: 'fractions of the amount (0 < t ≤ 10, at most 6 decimals), e.g. [0.5, 0.8, 1]',
            },
            webhook_url: {
              type: ['string', 'null'],
              maxLength: MAX_WEBHOOK_URL_LENGTH,
              description:
                'alerts of this budget go here: an http(s) URL to a public address (loopback and private ones only with COSTTRACE_ALLOW_PRIVATE_WEBHOOKS=true; metadata and link-local never)',
            },
          },
        },
        response: { 200: BUDGET, ...errors(400, 401, 403, 408, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const problems: Array<{ loc: Array<string | number>; msg: string; type: string }> = [];
      const amount = parseAmount(request.body.amount_cents);
      if (!amount.ok) problems.push({ loc: ['body', 'amount_cents'], msg: amount.reason, type: 'value_error' });
      else if (amount.picocents <= 0n) {
        problems.push({ loc: ['body', 'amount_cents'], msg: 'must be greater than 0', type: 'value_error' });
      }
      const raw = request.body.thresholds ?? [1];
      const thresholds: string[] = [];
      raw.forEach((t, i) => {
        const text = thresholdText(t);
        if (text === null) {
          problems.push({
            loc: ['body', 'thresholds', i],
            msg: 'a threshold is a fraction of the amount: greater than 0, at most 10, at most 6 decimals',
            type: 'value_error',
          });
        } else if (thresholds.includes(text)) {
          problems.push({ loc: ['body', 'thresholds', i], msg: 'listed twice', type: 'value_error' });
        } else thresholds.push(text);
      });
      const url = request.body.webhook_url ?? null;
      if (url !== null) {
        const checked = await checkWebhookUrl(url, policy, WEBHOOK_RESOLVE_TIMEOUT_MS);
        if (!checked.ok) problems.push({ loc: ['body', 'webhook_url'], msg: checked.reason, type: 'value_error' });
      }
      if (problems.length > 0 || !amount.ok) throw new InputError(problems);
      const budget: Budget = {
        customerId: request.params.customer_id,
        amountPicocents: amount.picocents,
        window: request.body.window,
        thresholds: thresholds.sort((a, b) => Number(a) - Number(b)),
        webhookUrl: url,
        updatedAtMicros: deps.nowMicros(),
      };
      await deps.store.budgets.put(budget);
      return view(budget, true);
    },
  );

  app.get(
    '/v1/budgets',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Every budget (the "*" default included)',
        tags: ['budgets'],
        response: {
          200: itemsOf(BUDGET),
          ...READ_ERRORS,
        },
      },
    },
    async (request) => {
      const withUrl = isAdmin(request);
      return { items: (await deps.store.budgets.list()).map((b) => view(b, withUrl)) };
    },
  );

  app.delete<{ Params: { customer_id: string } }>(
    '/v1/budgets/:customer_id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Remove a budget (crossings already recorded are kept and still delivered)',
        tags: ['budgets'],
        params: ID_PARAMS,
        response: {
          200: DELETED_BODY,
          ...errors(401, 403, 404, 422, 503),
        },
      },
    },
    async (request) => {
      const id = request.params.customer_id;
      if (!(await deps.store.budgets.remove(id))) {
        throw new HttpError(404, `no budget for ${JSON.stringify(id)}`);
      }
      return { deleted: id };
    },
  );

  app.get<{ Params: { customer_id: string } }>(
    '/v1/budgets/:customer_id/status',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A customer's spend in the current UTC window against its budget (or the default)",
        tags: ['budgets'],
        params: ID_PARAMS,
        response: { 200: STATUS, ...errors(401, 403, 404, 422, 503) },
      },
    },
    async (request) => {
      const id = request.params.customer_id;
      const now = deps.nowMicros();
      const answer = await deps.store.budgets.status(id, now);
      if (answer === null) throw new HttpError(404, `no budget for ${JSON.stringify(id)} and no "*" default`);
      const { budget, spend } = answer;
      return {
        customer_id: id,
        budget: budget.customerId,
        window: budget.window,
        window_start: iso(spend.windowStartMicros),
        window_end: iso(spend.windowEndMicros),
        spent_cents: picocentsToNumber(spend.spentPicocents),
        spent_cents_exact: formatPicocents(spend.spentPicocents),
        amount_cents: picocentsToNumber(budget.amountPicocents),
        thresholds: budget.thresholds.map(Number),
        // The crossing check's own rule (features/budgets/windows.ts), so status and alerts never disagree.
        crossed: thresholdsReached(spend.spentPicocents, budget.amountPicocents, budget.thresholds).map(Number),
      };
    },
  );
}
