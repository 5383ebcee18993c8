/**
 * Pipeline stage 3: customer attribution (docs/contract.md §2). A span's customer is its own `customer.id`,
 * else the nearest ancestor's in the same trace, else its resource's. Spans of one trace arrive in any
 * order, so a chain that stops at a parent not seen yet is `pending` and is resolved again when more
 * of the trace arrives; the outcome does not depend on arrival order.
 *
 * Pure: the caller supplies the spans being resolved and a lookup for ancestors already settled.
 */
import type { Attribution } from '../../src/records.ts';

export interface ChainNode {
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly customerOwn: string | null;
}

/** Settled attribution of a span that is not among the nodes (stored earlier, not pending). */
export type SettledLookup = (spanId: string) => Attribution | undefined;

/**
 * Resolves every node of one trace. Nodes are the new spans plus the trace's pending spans; a parent
 * that is neither a node nor settled is missing, which makes the chain pending. Cycles (bad data)
 * end the chain without a customer.
 */
export function resolveTrace(nodes: readonly ChainNode[], settled: SettledLookup): Map<string, Attribution> {
  const byId = new Map<string, ChainNode>();
  for (const n of nodes) if (!byId.has(n.spanId)) byId.set(n.spanId, n);
  const resolved = new Map<string, Attribution>();
  const visiting = new Set<string>();

  const resolve = (start: ChainNode): Attribution => {
    // Walk up iteratively (traces can be deep), then assign the result to the whole path.
    const path: ChainNode[] = [];
    let result: Attribution | undefined;
    let node: ChainNode | undefined = start;
    while (node !== undefined) {
      const done = resolved.get(node.spanId);
      if (done !== undefined) {
        result = done;
        break;
      }
      if (visiting.has(node.spanId)) {
        result = { chainCustomer: null, pending: false };
        break;
      }
      visiting.add(node.spanId);
      path.push(node);
      if (node.customerOwn !== null) {
        result = { chainCustomer: node.customerOwn, pending: false };
        break;
      }
      if (node.parentSpanId === null) {
        result = { chainCustomer: null, pending: false };
        break;
      }
      const parent = byId.get(node.parentSpanId);
      if (parent === undefined) {
        result = settled(node.parentSpanId) ?? { chainCustomer: null, pending: true };
        break;
      }
      node = parent;
    }
    const final = result ?? { chainCustomer: null, pending: false };
    for (const p of path) {
      visiting.delete(p.spanId);
      resolved.set(p.spanId, p.customerOwn !== null ? { chainCustomer: p.customerOwn, pending: false } : final);
    }
    return resolved.get(start.spanId) as Attribution;
  };

  for (const n of byId.values()) resolve(n);
  return resolved;
}

/** Parents referenced by nodes that are not themselves among the nodes: what the caller must look up. */
export function missingParents(nodes: readonly ChainNode[]): Set<string> {
  const ids = new Set(nodes.map((n) => n.spanId));
  const missing = new Set<string>();
  for (const n of nodes) {
    if (n.customerOwn === null && n.parentSpanId !== null && !ids.has(n.parentSpanId)) missing.add(n.parentSpanId);
  }
  return missing;
}
