/** The machine a report's figures were measured on (recorded with every report; nothing secret). */
import { availableParallelism, cpus } from 'node:os';

export interface MachineInfo {
  cores: number;
  cpu: string;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  return { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
}
