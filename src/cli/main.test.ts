import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { buildProgram, COMMANDS, run } from './main.ts';

/** What `custos --help` shows of a command: its name, its arguments and its description. */
function listing(command: Command): string {
  const args = command.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
  return [command.name(), ...args].join(' ') + ` : ${command.description()}`;
}

describe('custos command registration', () => {
  it('lists each command in --help exactly as its module registers it', async () => {
    for (const command of COMMANDS) {
      const loaded = new Command('custos');
      (await command.load())(loaded);
      expect(loaded.commands.map(listing)).toEqual([`${command.usage} : ${command.summary}`]);
    }
  });

  it('registers in full only the command argv names (after `help` too); the others are their summary alone', async () => {
    const registeredInFull = async (...argv: string[]) =>
      (await buildProgram(['node', 'custos', ...argv])).commands.filter((c) => c.commands.length > 0 || c.options.length > 0).map((c) => c.name());
    expect(await registeredInFull('--version')).toEqual([]);
    expect(await registeredInFull('--help')).toEqual([]);
    expect(await registeredInFull('token', 'issue', '--employee', 'e-1')).toEqual(['token']);
    expect(await registeredInFull('import', 'customers', 'c.jsonl', '--skip-bad')).toEqual(['import']);
    expect(await registeredInFull('help', 'keys')).toEqual(['keys']);
  });
});

describe('bad flags name the flag given', () => {
  it('incident list --state with no such state says --state, not another flag', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true));
    try {
      expect(await run(['node', 'custos', 'incident', 'list', '--state', 'bogus'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain('--state must be one of open, contained, assessing, notifying, closed, got "bogus"');
  });
});
