// Fails the test run early, with install advice, when a real part the tests need is missing.
import { spawnSync } from 'node:child_process';
const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
if (r.error && !process.env.REDIS_URL) {
  console.error('The tests need a real redis-server on PATH (or REDIS_URL). Install it: sudo apt-get install -y redis-server');
  process.exit(1);
}
