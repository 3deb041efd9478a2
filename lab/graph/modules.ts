/**
 * The Graph stand-in's route modules. A module for more of Graph (contacts,
 * calendars, …) is one file beside these and one line here.
 */
import { directoryModule } from './directory';
import { pimModule } from './pim';
import type { GraphModule } from './server';

export const GRAPH_MODULES: GraphModule[] = [directoryModule, pimModule];
