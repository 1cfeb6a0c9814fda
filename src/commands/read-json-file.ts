// Reads a JSON input file for a command (`-` is stdin). A missing file or bad JSON is the
// operator's mistake: FILE_UNREADABLE naming the file and, for JSON, the line and column.
import { readFileSync } from 'node:fs';
import { CampaignError } from '../core/errors.js';

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new CampaignError('FILE_UNREADABLE', `Cannot read ${path}: ${why}.`, { path, code });
  }
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    throw new CampaignError('FILE_UNREADABLE', `${path === '-' ? 'Standard input' : path} is empty: it must hold one JSON object (\`campaign templates show text_basic\` prints an example).`, { path });
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const offset = Number(pos[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column}`;
    }
    throw new CampaignError('FILE_UNREADABLE', `${path} is not valid JSON${where}: ${msg}`, { path });
  }
}
