/**
 * ClickHouse DDL from table specs, for one server or a cluster (contract §14; docs/clickhouse.md). Pure.
 *
 * One server: `<Engine>MergeTree` tables named as the store reads them. A cluster (`--clickhouse-cluster NAME`):
 * every statement `ON CLUSTER`, each table a `Replicated<Engine>MergeTree` named `<table>_local` on every node, and
 * the name the store reads a `Distributed` table over them, sharded by the spec's immutable sharding key (so a row
 * written again — attribution settling it, re-pricing — lands on the shard holding its first version, where the
 * replacing merge can collapse them). Tables that must hold the same rows on every node (the schema version) are
 * replicated across the whole cluster (one Keeper path without `{shard}`) and read locally.
 */
export type MergeEngine = 'MergeTree' | 'ReplacingMergeTree' | 'SummingMergeTree';

export interface TableSpec {
  readonly name: string;
  /** Column definitions, as ClickHouse writes them (`name Type`). */
  readonly columns: readonly string[];
  readonly engine: MergeEngine;
  /** ReplacingMergeTree: the version column; SummingMergeTree: the summed columns. */
  readonly engineArgs?: readonly string[];
  readonly orderBy: string;
  readonly partitionBy?: string;
  /** Cluster: the Distributed table's sharding expression; omitted = the same rows on every node. */
  readonly shardBy?: string;
}

export interface Placement {
  readonly database: string;
  readonly cluster?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A database or cluster name, checked to be an identifier (it is written into DDL text). */
export function identifier(kind: string, value: string): string {
  if (!IDENT.test(value))
    throw new Error(`${kind} must be letters, digits and _ (not starting with a digit): ${value}`);
  return value;
}

const onCluster = (p: Placement) => (p.cluster === undefined ? '' : ` ON CLUSTER ${identifier('cluster', p.cluster)}`);

export function createDatabase(p: Placement): string {
  return `CREATE DATABASE IF NOT EXISTS ${identifier('database', p.database)}${onCluster(p)}`;
}

/** The local table's name (the one that holds the rows). */
export function localName(spec: TableSpec, p: Placement): string {
  return p.cluster === undefined || spec.shardBy === undefined ? spec.name : `${spec.name}_local`;
}

function engineOf(spec: TableSpec, p: Placement): string {
  const args = spec.engineArgs ?? [];
  if (p.cluster === undefined) return `${spec.engine}(${args.join(', ')})`;
  // {shard} in the path: one replica set per shard; without it, one set across the cluster.
  const path = `'/clickhouse/tables/${spec.shardBy === undefined ? 'all' : '{shard}'}/{database}/${localName(spec, p)}'`;
  return `Replicated${spec.engine}(${[path, "'{replica}'", ...args].join(', ')})`;
}

/** The statements creating `spec` (idempotent: IF NOT EXISTS), local table first. */
export function createTable(spec: TableSpec, p: Placement): string[] {
  const db = identifier('database', p.database);
  const settings = p.cluster === undefined ? '\nSETTINGS non_replicated_deduplication_window = 1000' : '';
  const local = [
    `CREATE TABLE IF NOT EXISTS ${db}.${localName(spec, p)}${onCluster(p)} (`,
    spec.columns.map((c) => `  ${c}`).join(',\n'),
    `) ENGINE = ${engineOf(spec, p)}`,
    ...(spec.partitionBy === undefined ? [] : [`PARTITION BY ${spec.partitionBy}`]),
    `ORDER BY ${spec.orderBy}${settings}`,
  ].join('\n');
  if (p.cluster === undefined || spec.shardBy === undefined) return [local];
  const distributed = `CREATE TABLE IF NOT EXISTS ${db}.${spec.name}${onCluster(p)} AS ${db}.${localName(spec, p)}
ENGINE = Distributed(${p.cluster}, ${db}, ${localName(spec, p)}, ${spec.shardBy})`;
  return [local, distributed];
}

/** `ALTER TABLE … ADD COLUMN IF NOT EXISTS`, on the local table and (cluster) the Distributed one. */
export function addColumn(spec: TableSpec, column: string, p: Placement): string[] {
  const db = identifier('database', p.database);
  const tables = p.cluster === undefined || spec.shardBy === undefined ? [spec.name] : [localName(spec, p), spec.name];
  return tables.map((t) => `ALTER TABLE ${db}.${t}${onCluster(p)} ADD COLUMN IF NOT EXISTS ${column}`);
}
