{{/*
The app name: always `rudder`. Tenant NetworkPolicies (written by the operator)
allow egress to pods labelled app.kubernetes.io/name=rudder and
app.kubernetes.io/component=controlplane in the system namespace, so it is not
configurable.
*/}}
{{- define "rudder.name" -}}
rudder
{{- end }}

{{/*
The prefix of every object's name: the release name when it already says
rudder (`helm install rudder ...` gives `rudder-controlplane`), else
`<release>-rudder`.
*/}}
{{- define "rudder.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else if contains "rudder" .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-rudder" .Release.Name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "rudder.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The recommended labels of one component: `include "rudder.labels" (dict "ctx" $ "component" "operator")`.
*/}}
{{- define "rudder.labels" -}}
helm.sh/chart: {{ include "rudder.chart" .ctx }}
{{ include "rudder.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: rudder
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The labels a component's selectors match (immutable once installed).
*/}}
{{- define "rudder.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rudder.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
An image reference from { repository, tag, digest }: `include "rudder.image" (dict "image" .Values.operator.image "ctx" $)`.
The tag defaults to the chart's appVersion; a digest pins it.
*/}}
{{- define "rudder.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (.image.tag | default .ctx.Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{- define "rudder.operator.fullname" -}}
{{- printf "%s-operator" (include "rudder.fullname" .) }}
{{- end }}

{{- define "rudder.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- .Values.operator.serviceAccount.name | default (include "rudder.operator.fullname" .) }}
{{- else }}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "rudder.controlplane.fullname" -}}
{{- printf "%s-controlplane" (include "rudder.fullname" .) }}
{{- end }}

{{- define "rudder.controlplane.serviceAccountName" -}}
{{- if .Values.controlplane.serviceAccount.create }}
{{- .Values.controlplane.serviceAccount.name | default (include "rudder.controlplane.fullname" .) }}
{{- else }}
{{- required "controlplane.serviceAccount.name is required when controlplane.serviceAccount.create is false" .Values.controlplane.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The URL data planes reach the control plane at.
*/}}
{{- define "rudder.controlplane.publicUrl" -}}
{{- if .Values.controlplane.publicUrl }}
{{- .Values.controlplane.publicUrl }}
{{- else }}
{{- printf "http://%s.%s.svc.%s:%v" (include "rudder.controlplane.fullname" .) .Release.Namespace .Values.clusterDomain .Values.controlplane.service.port }}
{{- end }}
{{- end }}

{{- define "rudder.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "rudder.fullname" .) }}
{{- end }}

{{- define "rudder.redis.fullname" -}}
{{- printf "%s-redis" (include "rudder.fullname" .) }}
{{- end }}

{{/*
A generated secret value that survives upgrades: the value given, else the one
already in the cluster's Secret, else a new random one.
`include "rudder.secretValue" (dict "ctx" $ "secret" "name" "key" "password" "value" .Values.x "length" 32)`
*/}}
{{- define "rudder.secretValue" -}}
{{- if .value }}
{{- .value }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- $stored := dig "data" .key "" ($existing | default dict) }}
{{- if $stored }}
{{- $stored | b64dec }}
{{- else }}
{{- randAlphaNum (int .length) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Where the control plane's DATABASE_URL comes from: { name, key } of a Secret.
*/}}
{{- define "rudder.databaseUrlSecret" -}}
{{- if .Values.postgresql.enabled }}
name: {{ include "rudder.postgresql.fullname" . }}
key: url
{{- else if .Values.externalDatabase.existingSecret }}
name: {{ .Values.externalDatabase.existingSecret }}
key: {{ .Values.externalDatabase.existingSecretKey }}
{{- else if .Values.externalDatabase.url }}
name: {{ include "rudder.controlplane.fullname" . }}
key: database-url
{{- else }}
{{- fail "postgresql.enabled is false: set externalDatabase.url or externalDatabase.existingSecret" }}
{{- end }}
{{- end }}

{{/*
Where the control plane's REDIS_URL comes from: { name, key } of a Secret.
*/}}
{{- define "rudder.redisUrlSecret" -}}
{{- if .Values.redis.enabled }}
name: {{ include "rudder.redis.fullname" . }}
key: url
{{- else if .Values.externalRedis.existingSecret }}
name: {{ .Values.externalRedis.existingSecret }}
key: {{ .Values.externalRedis.existingSecretKey }}
{{- else if .Values.externalRedis.url }}
name: {{ include "rudder.controlplane.fullname" . }}
key: redis-url
{{- else }}
{{- fail "redis.enabled is false: set externalRedis.url or externalRedis.existingSecret" }}
{{- end }}
{{- end }}

{{/*
Where the control plane's JWT_SECRET comes from: { name, key } of a Secret.
*/}}
{{- define "rudder.jwtSecret" -}}
{{- if .Values.controlplane.auth.existingSecret }}
name: {{ .Values.controlplane.auth.existingSecret }}
key: {{ .Values.controlplane.auth.existingSecretKey }}
{{- else }}
name: {{ include "rudder.controlplane.fullname" . }}
key: jwt-secret
{{- end }}
{{- end }}

{{/*
The chart's Redis configuration: `include "rudder.redis.conf" (dict "password" $p "persistence" true)`.
*/}}
{{- define "rudder.redis.conf" -}}
port 6379
dir /data
requirepass "{{ .password }}"
# BullMQ needs every key kept: never evict.
maxmemory-policy noeviction
{{- if .persistence }}
appendonly yes
appendfsync everysec
{{- else }}
appendonly no
save ""
{{- end }}
{{- end }}
