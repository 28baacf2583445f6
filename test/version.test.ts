import t from 'tap';
import { VERSION } from '../src/version.ts';
t.match(VERSION, /^\d+\.\d+\.\d+/);
