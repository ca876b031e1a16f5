import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { desiredObjects } from './index.ts';
import { EXTERNAL_URL, externalDatabase, makeInput, podTemplates } from './test-fixtures.ts';

const ALLOWED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** The violations of the Pod Security "restricted" profile (latest) in `pod`; empty when it passes. */
function restrictedViolations(pod: V1PodSpec): string[] {
  const problems: string[] = [];
  const psc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push('host namespaces');
  for (const volume of pod.volumes ?? []) {
    const types = Object.keys(volume).filter((k) => k !== 'name');
    if (!types.every((t) => ALLOWED_VOLUMES.has(t)))
      problems.push(`volume ${volume.name}: ${types.join(',')}`);
  }
  if (psc.runAsUser === 0) problems.push('pod runAsUser 0');
  if (psc.sysctls?.length) problems.push('sysctls');
  const containers: V1Container[] = [...(pod.initContainers ?? []), ...pod.containers];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if (sc.privileged) problems.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation not false`);
    if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) problems.push(`${at}: runAsNonRoot not true`);
    if (sc.runAsUser === 0) problems.push(`${at}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${at}: seccomp ${seccomp}`);
    if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities not dropped`);
    if ((sc.capabilities?.add ?? []).some((cap) => cap !== 'NET_BIND_SERVICE'))
      problems.push(`${at}: caps added`);
    if ((c.ports ?? []).some((p) => p.hostPort !== undefined && p.hostPort !== 0))
      problems.push(`${at}: hostPort`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') problems.push(`${at}: procMount`);
  }
  return problems;
}

describe('pod security', () => {
  it('every pod template of a managed-database instance passes the restricted profile', () => {
    const templates = podTemplates(desiredObjects(makeInput()));
    expect([...templates.keys()].sort()).toEqual([
      'Deployment/gateway',
      'StatefulSet/postgres',
      'StatefulSet/worker',
    ]);
    for (const [name, template] of templates)
      expect([name, restrictedViolations(template.spec!)]).toEqual([name, []]);
  });

  it('every pod template of an external-database instance passes the restricted profile', () => {
    for (const [name, template] of podTemplates(
      desiredObjects(makeInput(externalDatabase, { externalDatabaseUrl: EXTERNAL_URL })),
    ))
      expect([name, restrictedViolations(template.spec!)]).toEqual([name, []]);
  });

  it('the checker catches what the profile forbids', () => {
    const bad: V1PodSpec = {
      hostNetwork: true,
      volumes: [{ name: 'h', hostPath: { path: '/' } }],
      containers: [
        { name: 'c', securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } },
      ],
    };
    expect(restrictedViolations(bad)).toEqual(
      expect.arrayContaining([
        'host namespaces',
        'volume h: hostPath',
        'container c: privileged',
        'container c: allowPrivilegeEscalation not false',
        'container c: runAsNonRoot not true',
        'container c: seccomp undefined',
        'container c: capabilities not dropped',
        'container c: caps added',
      ]),
    );
  });

  it('runs every container with a read-only root filesystem and a writable /tmp', () => {
    for (const [name, template] of podTemplates(desiredObjects(makeInput()))) {
      const c = template.spec!.containers[0]!;
      expect([name, c.securityContext?.readOnlyRootFilesystem]).toEqual([name, true]);
      const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(template.spec!.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    }
  });
});
