// Placeholder: being written (issue 5/6: serve). Registers nothing yet.
import type { Command } from 'commander';
import type { CliKit } from './kit.js';

export function register(_program: Command, _k: CliKit): void {}
