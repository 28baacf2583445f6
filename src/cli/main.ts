#!/usr/bin/env node
/** The `bulwark` command: one file per subcommand under src/cli/, each registered here with one line. */
import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { registerStart } from './start.ts';
import { registerRules } from './rules.ts';
import { registerExclusions } from './exclusions.ts';
import { registerMode } from './mode.ts';
import { registerRatelimit } from './ratelimit.ts';
import { registerEvents } from './events.ts';
import { registerBans } from './bans.ts';
import { registerExplain } from './explain.ts';
import { registerCache } from './cache.ts';

const program = new Command('bulwark')
  .description('Bulwark: a web application firewall reverse proxy')
  .version(VERSION)
  .showHelpAfterError();

// One line per command file (each exports `register<Name>(program: Command): void`).
registerStart(program);
registerRules(program);
registerExclusions(program);
registerMode(program);
registerRatelimit(program);
registerEvents(program);
registerBans(program);
registerExplain(program);
registerCache(program);

await program.parseAsync(process.argv);
