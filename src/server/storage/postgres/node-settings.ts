/**
 * Settings of the nodes of one cluster, compared: each node records the settings it was started
 * with that every node should share (config.ts, `clusterWideSettings`) in its `parley_nodes` row,
 * and looks at the others' at start and at every heartbeat. A node of an earlier version records
 * none and is not compared.
 */

/** Flag → value as text, e.g. `{ 'send-rate': '10' }`. */
export type NodeSettings = Readonly<Record<string, string>>;

/**
 * The settings of `theirs` that differ from `mine`, as `--flag <theirs> there, <mine> here`, in
 * flag order. A flag only one of them records (a version that has it and one that does not) is
 * not compared: an upgrade one node at a time is not a difference.
 */
export function settingsDifferences(mine: NodeSettings, theirs: NodeSettings): string[] {
  return Object.keys(mine)
    .filter((flag) => Object.hasOwn(theirs, flag) && mine[flag] !== theirs[flag])
    .sort()
    .map((flag) => `--${flag} ${theirs[flag]} there, ${mine[flag]} here`);
}
