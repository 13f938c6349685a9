/**
 * P2: the dealer (2pc: correlated randomness, can run ahead) and, in 3pc,
 * also the online helper. It runs the same job program as the holders, with
 * placeholder tensors, beside the dealer loop (src/mpc/runtime.ts).
 */
import { runJob } from '../src/jobs/index.js';
import { partyMainIpc } from '../src/mpc/process.js';

void partyMainIpc(runJob);
