// The scripted regression scenarios by name (`npm run sim -- --script NAME` replays one),
// each written out from a seed as it was drawn when it failed (ring-changes 102553
// twice: as first drawn, and as drawn later, when it failed through other steps).
import type { Script } from '../script.js';
import { script as cas5100641 } from './cas-5100641.js';
import { script as ringChanges101007 } from './ring-changes-101007.js';
import { script as ringChanges101154 } from './ring-changes-101154.js';
import { script as ringChanges102553 } from './ring-changes-102553.js';
import { script as ringChanges102553Later } from './ring-changes-102553-later.js';
import { script as ringChanges102728 } from './ring-changes-102728.js';
import { script as ringChanges2700828 } from './ring-changes-2700828.js';
import { script as ringChanges4700099 } from './ring-changes-4700099.js';
import { script as ringChanges6220413 } from './ring-changes-6220413.js';
import { script as slowGossip1731197 } from './slow-gossip-1731197.js';
import { script as slowGossip1830711 } from './slow-gossip-1830711.js';
import { script as slowGossip3201077 } from './slow-gossip-3201077.js';
import { script as slowGossip3601432 } from './slow-gossip-3601432.js';
import { script as slowGossip3800272 } from './slow-gossip-3800272.js';
import { script as slowGossip4000313 } from './slow-gossip-4000313.js';
import { script as slowGossip6231017 } from './slow-gossip-6231017.js';
import { script as standard4304778 } from './standard-4304778.js';

export const regressionScripts: Readonly<Record<string, Script>> = {
  'cas-5100641': cas5100641,
  'ring-changes-101007': ringChanges101007,
  'ring-changes-101154': ringChanges101154,
  'ring-changes-102553': ringChanges102553,
  'ring-changes-102553-later': ringChanges102553Later,
  'ring-changes-102728': ringChanges102728,
  'ring-changes-2700828': ringChanges2700828,
  'ring-changes-4700099': ringChanges4700099,
  'ring-changes-6220413': ringChanges6220413,
  'slow-gossip-1731197': slowGossip1731197,
  'slow-gossip-1830711': slowGossip1830711,
  'slow-gossip-3201077': slowGossip3201077,
  'slow-gossip-3601432': slowGossip3601432,
  'slow-gossip-3800272': slowGossip3800272,
  'slow-gossip-4000313': slowGossip4000313,
  'slow-gossip-6231017': slowGossip6231017,
  'standard-4304778': standard4304778,
};
