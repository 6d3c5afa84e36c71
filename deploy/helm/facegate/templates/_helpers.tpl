{{/* Names: <release>-<chart> unless the release name already contains the chart name. */}}
{{- define "facegate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's resource name: camera_ingest -> <fullname>-camera-ingest. */}}
{{- define "facegate.component" -}}
{{- printf "%s-%s" (include "facegate.fullname" .root) (.name | replace "_" "-") -}}
{{- end -}}

{{- define "facegate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of a component ({root, name}). */}}
{{- define "facegate.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name | replace "_" "-" }}
{{- end -}}

{{- define "facegate.componentLabels" -}}
{{ include "facegate.labels" .root }}
app.kubernetes.io/component: {{ .name | replace "_" "-" }}
{{- end -}}

{{- define "facegate.secretName" -}}
{{- default (include "facegate.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "facegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "facegate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Whether a service ({root, name, svc}) runs on a GPU. */}}
{{- define "facegate.usesGpu" -}}
{{- if and .root.Values.gpu.enabled .svc.gpu -}}true{{- end -}}
{{- end -}}

{{/* Image of a service ({root, name, svc}): [<registry>/]<repository>/<name>:<tag>[-gpu]. */}}
{{- define "facegate.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := printf "%s/%s" $img.repository (.name | replace "_" "-") -}}
{{- if $img.registry -}}{{- $repo = printf "%s/%s" $img.registry $repo -}}{{- end -}}
{{- $tag := default .root.Chart.AppVersion $img.tag -}}
{{- if include "facegate.usesGpu" . -}}{{- $tag = printf "%s%s" $tag .root.Values.gpu.imageSuffix -}}{{- end -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* The environment of a service's containers ({root, name}): its own credentials from the
Secret (shared.nats_users, shared.db.roles), then `config`. */}}
{{- define "facegate.env" -}}
{{- $secret := include "facegate.secretName" .root -}}
{{- range $key, $from := dict "FACEGATE_NATS_URL" (printf "nats-url-%s" .name) "FACEGATE_DATABASE_URL" (printf "database-url-%s" .name) "FACEGATE_REDIS_URL" "FACEGATE_REDIS_URL" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $from }}
{{- end }}
{{- include "facegate.config" .root }}
{{- end -}}

{{/* `config` as FACEGATE_* variables, and the CA for TLS to the servers when given. */}}
{{- define "facegate.config" -}}
{{- range $key, $value := .Values.config }}
- name: FACEGATE_{{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- if .Values.tls.caSecret }}
- name: FACEGATE_TLS_CA_FILE
  value: /etc/facegate/tls/ca.crt
{{- end }}
{{- end -}}

{{/* A generated password ({root, key}): the one kept in the chart's Secret, else random. */}}
{{- define "facegate.generated" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace (include "facegate.fullname" .root) -}}
{{- if and $existing (index $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}

{{/* The Postgres password: the value, else the one kept in the existing Secret, else random. */}}
{{- define "facegate.postgresPassword" -}}
{{- if .Values.postgres.password -}}
{{- .Values.postgres.password -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "facegate.fullname" .) -}}
{{- if and $existing (index $existing.data "postgres-password") -}}
{{- index $existing.data "postgres-password" | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The generated admin API key: the one kept in the existing Secret, else a new random one. */}}
{{- define "facegate.adminApiKey" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "facegate.fullname" .) -}}
{{- if and $existing (index $existing.data "admin-api-key") -}}
{{- index $existing.data "admin-api-key" | b64dec -}}
{{- else -}}
{{- printf "fg_%s" (randAlphaNum 43) -}}
{{- end -}}
{{- end -}}

{{/* The key that encrypts camera credentials at rest (a Fernet key: 32 random bytes, url-safe
base64): the one kept in the existing Secret, else a new one. Losing it loses the stored
credentials (cameras then show why and need their source saved again). */}}
{{- define "facegate.secretKey" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "facegate.fullname" .) -}}
{{- if and $existing (index $existing.data "FACEGATE_SECRET_KEY") -}}
{{- index $existing.data "FACEGATE_SECRET_KEY" | b64dec -}}
{{- else -}}
{{- randBytes 32 | replace "+" "-" | replace "/" "_" -}}
{{- end -}}
{{- end -}}

{{/* Volumes every Facegate pod mounts (the root filesystem is read-only). */}}
{{- define "facegate.volumes" -}}
- name: tmp
  emptyDir: {}
- name: data
  emptyDir: {}
{{- if .Values.tls.caSecret }}
- name: tls-ca
  secret:
    secretName: {{ .Values.tls.caSecret }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end -}}

{{- define "facegate.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/facegate
{{- if .Values.tls.caSecret }}
- name: tls-ca
  mountPath: /etc/facegate/tls
  readOnly: true
{{- end }}
{{- end -}}
