// Fails the test run early, with install advice, when a real part the tests need is missing (never skips).
import { spawnSync } from 'node:child_process';
const missing = [];
if (spawnSync('redis-server', ['--version']).error && !process.env.REDIS_URL) {
  missing.push('a real redis-server on PATH (or REDIS_URL): sudo apt-get install -y redis-server');
}
const hasDjango = ['/usr/bin/python3', 'python3'].some((py) => spawnSync(py, ['-c', 'import django']).status === 0);
if (!hasDjango) missing.push('Django for python3 (the example site test): sudo apt-get install -y python3-django');
if (spawnSync('chromium', ['--version']).error) missing.push('chromium (the dashboard test): sudo apt-get install -y chromium');
if (missing.length) {
  console.error(`The tests need real parts that are missing:\n  - ${missing.join('\n  - ')}`);
  process.exit(1);
}
