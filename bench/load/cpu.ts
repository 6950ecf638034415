/** Starts a CPU meter for this process; calling the result gives the cores used since (1.0 = one core busy). */
export function processCpu(): () => number {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000 / (performance.now() - wall);
  };
}
