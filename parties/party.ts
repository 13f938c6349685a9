/**
 * Share-holder process (P0 or P1). Forked by the launcher it talks over IPC;
 * by hand use `mpcnet party --id 0|1 --config session.json`.
 */
import { runJob } from '../src/jobs/index.js';
import { partyMainIpc } from '../src/mpc/process.js';

void partyMainIpc(runJob);
