#!/usr/bin/env node
/** The `mpcnet` command line. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { approxCommand } from './approx.js';
import { benchArithCommand } from './bench-arith.js';
import { benchReluCommand } from './bench-relu.js';
import { dealerCommand } from './dealer.js';
import { keygenCommand } from './keygen.js';
import { partyCommand } from './party.js';
import { sessionCommand } from './session.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { inferCommand } from './infer.js';
import { experimentLxCommand } from './experiment-lx.js';
import { experimentSturdinessCellCommand, experimentSturdinessCommand } from './experiment-sturdiness.js';
import { experimentMethodsCellCommand, experimentMethodsCommand } from './experiment-methods.js';
import { demoCommand } from './demo.js';
import { pannCommand } from './pann.js';
import { stopWithParent } from '../common/stop-children.js';

// Started by another mpcnet (an experiment cell, a seed run: src/plain/parallel.ts): end with it.
stopWithParent();

await yargs(hideBin(process.argv))
  .scriptName('mpcnet')
  .command('bench', 'Benchmarks under MPC', (y) => y.command(benchArithCommand).command(benchReluCommand).demandCommand(1, 'name a benchmark: arith or relu'))
  .command(partyCommand)
  .command(dealerCommand)
  .command(approxCommand)
  .command(sessionCommand)
  .command(keygenCommand)
  .command(trainCommand).command(evalCommand)
  .command(inferCommand)
  .command('experiment', 'Experiments: l_x under real MPC, the sturdiness grid, the PPoly method comparison', (y) => y.command(experimentLxCommand).command(experimentSturdinessCommand).command(experimentSturdinessCellCommand)
    .command(experimentMethodsCommand).command(experimentMethodsCellCommand).demandCommand(1, 'name an experiment: lx, sturdiness or methods'))
  .command(demoCommand)
  .command(pannCommand)
  .demandCommand(1, 'name a command')
  .strict()
  .fail((msg, err, y) => {
    process.stderr.write(`mpcnet: ${err ? err.message : msg}\n`);
    if (!err) process.stderr.write(`${y.help()}\n`);
    process.exit(1);
  })
  .help()
  .parseAsync();
