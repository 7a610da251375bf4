// The deployment files (docs/deploy.md): yamllint on the chart's plain YAML and the shipped configs,
// systemd-analyze on the unit where systemd is present, and the chart's shape (every required
// object). Helm itself is not available here: the templates are not rendered.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { SOURCE_DIR } from './lib/harness.mjs';

const deploy = (...p) => path.join(SOURCE_DIR, 'deploy', ...p);

describe('deployment files', () => {
  test('yamllint passes on the chart values, Chart.yaml and the shipped configs', () => {
    const files = [deploy('helm/switchboard/Chart.yaml'), deploy('helm/switchboard/values.yaml'),
      deploy('container/switchboard.yaml'), path.join(SOURCE_DIR, 'demo/switchboard.yaml')];
    const r = spawnSync('yamllint', ['-f', 'parsable', '-c', deploy('.yamllint.yaml'), ...files], { encoding: 'utf8' });
    assert.ok(!r.error, `yamllint not runnable (scripts/install-deps.sh --test installs it): ${r.error}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('the systemd unit is hardened and verifies', () => {
    const unit = readFileSync(deploy('systemd/switchboard.service'), 'utf8');
    for (const d of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'CapabilityBoundingSet=',
      'ExecReload=/bin/kill -HUP $MAINPID', 'RestartPreventExitStatus=2', 'SystemCallFilter=@system-service'])
      assert.ok(unit.includes(d), d);
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error) return;  // no systemd here: the unit's directives were checked above
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', deploy('systemd/switchboard.service')], { encoding: 'utf8' });
    // The binary is not installed at /usr/local/bin here: that is the only complaint allowed.
    const complaints = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() &&
      !/switchboard\.service: Command \/usr\/local\/bin\/switchboard is not executable/.test(l));
    assert.deepEqual(complaints, []);
  });

  test('the chart has its Deployment with probes, ConfigMap, Secret, Services, HPA and optional Redis', () => {
    const dir = deploy('helm/switchboard/templates');
    const all = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
    for (const kind of ['Deployment', 'ConfigMap', 'Secret', 'Service', 'HorizontalPodAutoscaler'])
      assert.match(all, new RegExp(`kind: ${kind}\\b`), kind);
    assert.match(all, /readinessProbe:\s+httpGet: \{path: \/readyz/);
    assert.match(all, /livenessProbe:\s+httpGet: \{path: \/healthz/);
    assert.match(all, /if \.Values\.redis\.enabled/);
    assert.ok(existsSync(deploy('container/Containerfile')));
    const cf = readFileSync(deploy('container/Containerfile'), 'utf8');
    assert.equal((cf.match(/^FROM /gm) ?? []).length, 2, 'multi-stage');
    assert.match(cf, /^USER 10001$/m);
  });
});
