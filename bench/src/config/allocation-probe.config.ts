/** Where the allocation probe writes. Plain reads: the probe loads nothing of the kit. */
export interface AllocationProbeConfig {
  /** Each window's result (`ALLOCATION_PROBE_FILE`, required). */
  readonly file: string;
  /** Where each window's allocation profile goes (`ALLOCATION_PROBE_PROFILE_DIR`), if anywhere. */
  readonly profileDir: string | undefined;
}

/** The settings of this process: the only place the probe reads `process.env`. */
export function loadAllocationProbeConfigFromProcess(): AllocationProbeConfig {
  const file = process.env['ALLOCATION_PROBE_FILE']?.trim();
  if (!file) throw new Error('allocation-probe: set ALLOCATION_PROBE_FILE');
  return { file, profileDir: process.env['ALLOCATION_PROBE_PROFILE_DIR']?.trim() || undefined };
}
