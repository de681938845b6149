/** pass4.c: link counts against the references pass 2 counted; files nothing names. */
import { ROOTINO } from '../layout.js';
import { DIR, FILE, type Findings } from './image.js';
import type { Inodes } from './pass1.js';

export function pass4(inodes: Inodes, findings: Findings): void {
  for (let ino = ROOTINO; ino < inodes.state.length; ino++) {
    const state = inodes.state[ino];
    if (state !== FILE && state !== DIR) continue;
    const refs = inodes.refs[ino];
    const kind = state === DIR ? 'DIR' : 'FILE';
    if (refs === 0) findings.add(`UNREF ${kind} I=${ino}`);
    else if (refs !== inodes.nlink[ino])
      findings.add(`LINK COUNT ${kind} I=${ino} COUNT ${inodes.nlink[ino]} SHOULD BE ${refs}`);
  }
}
