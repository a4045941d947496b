{{- define "hsm-signer.fullname" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "hsm-signer.labels" -}}
app.kubernetes.io/part-of: hsm-signer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "hsm-signer.secretName" -}}
{{- printf "%s-secrets" (include "hsm-signer.fullname" .) -}}
{{- end -}}
