#!/usr/bin/env bash
# Boot script of a trainer instance, run once by cloud-init as user data. The launch template puts
# these settings in front of it as exported variables (lib/trainer-user-data.ts):
#
#   MAX_RUNTIME_MINUTES  hard limit: the instance powers off after it, whatever is happening
#   TRAINER_IMAGE        ECR image URI of the trainer
#   AWS_REGION           region of the stack
#   BUCKET               bucket holding datasets/ and checkpoints/
#   LOG_GROUP            CloudWatch log group for this script's and the container's output
#   RUN_PARAMETER        SSM parameter: the run id on line 1, one trainer argument per further line
#   OUTCOME_PARAMETER    SSM parameter this script records the outcome in
#   MLFLOW_TRACKING_URI  MLflow's internal load balancer
#   MLFLOW_SECRET_ARN    secret holding {"username": ..., "password": ...} for MLflow
#   MLFLOW_EXPERIMENT_NAME  experiment the trainer logs to (passed on to the container)
#   MLFLOW_UI_URL        where people open MLflow (the public URL, or http://localhost:5000 through the tunnel)
#   NOTIFY_TOPIC_ARN     SNS topic that gets each run's outcome with its MLflow link; empty: no notice
#
# Every outcome ends with the instance leaving its Auto Scaling group (desired capacity back to 0)
# and powering off: success, a failed training, a failed pull or login, a bad run configuration,
# the time limit. The one exception is an interruption (spot reclaim, scale-in, a stop from the
# launcher): the instance is going away already, and where the group's desired capacity is still 1
# its replacement resumes the same run from the last checkpoint.
set -uo pipefail

# The watchdog comes first, so that nothing below can keep a GPU instance alive past the limit.
max_minutes=${MAX_RUNTIME_MINUTES:-}
[[ $max_minutes =~ ^[1-9][0-9]*$ ]] || max_minutes=240
shutdown -P "+${max_minutes}" "trainer watchdog: ${max_minutes} minutes are up"
deadline=$(( $(date +%s) + max_minutes * 60 ))

readonly CONTAINER=malaria-trainer
readonly IMDS=http://169.254.169.254/latest
# The container gets this long to write its checkpoint when stopped (spot notice, time limit).
readonly STOP_GRACE_SECONDS=100

instance_id=''
instance_type=''
run_id=''
log_stream=''
finished=false
child=''

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '%s' "$s"
}

# To the console (cloud-init's log) always, to CloudWatch once the run's log stream exists.
log() {
  local message=$1
  printf '%s trainer-boot: %s\n' "$(date -u +%FT%TZ)" "$message"
  [[ -n $log_stream ]] || return 0
  aws logs put-log-events --log-group-name "$LOG_GROUP" --log-stream-name "$log_stream" \
    --log-events "[{\"timestamp\":$(date +%s%3N),\"message\":\"$(json_escape "$message")\"}]" >/dev/null 2>&1 || true
}

open_log_stream() {
  local name="$1/boot"
  [[ -n ${LOG_GROUP:-} ]] || return 0
  aws logs create-log-stream --log-group-name "$LOG_GROUP" --log-stream-name "$name" >/dev/null 2>&1 || true
  log_stream=$name
}

retry() {
  local attempts=$1 i
  shift
  for (( i = 1; i <= attempts; i++ )); do
    "$@" && return 0
    (( i < attempts )) && sleep $(( i * 10 ))
  done
  return 1
}

imds_token=''
imds() {
  [[ -n $imds_token ]] || imds_token=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/api/token") || return 1
  curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $imds_token" "$IMDS/meta-data/$1"
}

# The MLflow run of this instance (the trainer tags it with instance_id), as a link people can open;
# empty when MLflow cannot be asked. Credentials go to curl on stdin, never on a command line.
mlflow_run_link() {
  local experiment run auth
  auth="user = \"${MLFLOW_TRACKING_USERNAME:-}:${MLFLOW_TRACKING_PASSWORD:-}\""
  experiment=$(curl -fsS -m 10 -K - -G --data-urlencode "experiment_name=${MLFLOW_EXPERIMENT_NAME}" \
    "${MLFLOW_TRACKING_URI}/api/2.0/mlflow/experiments/get-by-name" <<<"$auth" \
    | sed -n 's/.*"experiment_id" *: *"\([^"]*\)".*/\1/p') || return 0
  [[ -n $experiment ]] || return 0
  run=$(curl -fsS -m 10 -K - -H 'Content-Type: application/json' \
    -d "{\"experiment_ids\":[\"${experiment}\"],\"filter\":\"tags.instance_id = '${instance_id}'\",\"max_results\":1,\"order_by\":[\"attributes.start_time DESC\"]}" \
    "${MLFLOW_TRACKING_URI}/api/2.0/mlflow/runs/search" <<<"$auth" \
    | sed -n 's/.*"run_id" *: *"\([0-9a-f]*\)".*/\1/p') || return 0
  [[ -n $run ]] && printf '%s/#/experiments/%s/runs/%s' "$MLFLOW_UI_URL" "$experiment" "$run"
}

# Tells the subscribers of NOTIFY_TOPIC_ARN how the run ended; a failure here never holds up the shutdown.
notify() {
  local outcome=$1 code=$2 link
  [[ -n ${NOTIFY_TOPIC_ARN:-} ]] || return 0
  link=''
  [[ -n $instance_id && -n ${MLFLOW_TRACKING_USERNAME:-} ]] && link=$(mlflow_run_link)
  [[ -n $link ]] || link="not found; in MLflow, search for the tag instance_id ${instance_id:-?}"
  aws sns publish --topic-arn "$NOTIFY_TOPIC_ARN" \
    --subject "malaria-mlops: run ${run_id:-?} ${outcome}" \
    --message "Run ${run_id:-?} on ${instance_type:-?} ${instance_id:-?} ended: ${outcome} (exit code ${code}).
MLflow run: ${link}
Logs: aws logs tail ${LOG_GROUP:-?} --log-stream-name-prefix ${run_id:-?}/ --since 1d" \
    >/dev/null 2>&1 || log "could not publish the outcome to ${NOTIFY_TOPIC_ARN}"
}

record_outcome() {
  local outcome=$1 code=$2
  [[ -n ${OUTCOME_PARAMETER:-} ]] || return 0
  aws ssm put-parameter --name "$OUTCOME_PARAMETER" --type String --overwrite \
    --value "{\"runId\":\"${run_id}\",\"instanceId\":\"${instance_id}\",\"outcome\":\"${outcome}\",\"exitCode\":${code},\"time\":\"$(date -u +%FT%TZ)\"}" \
    >/dev/null 2>&1 || log "could not record the outcome in ${OUTCOME_PARAMETER}"
}

finish() {
  local outcome=$1 code=${2:-0}
  $finished && return 0
  finished=true
  [[ -n $log_stream ]] || open_log_stream "no-run/${instance_id:-unknown-instance}"
  log "outcome: ${outcome} (exit code ${code})"
  record_outcome "$outcome" "$code"
  notify "$outcome" "$code"
  if [[ $outcome == interrupted ]]; then
    log 'interrupted: leaving the desired capacity as it is, so a replacement resumes from the last checkpoint'
    exit 0
  fi
  # Lowering the desired capacity first keeps the group from starting a replacement.
  if [[ -n $instance_id ]] && retry 3 aws autoscaling terminate-instance-in-auto-scaling-group \
      --instance-id "$instance_id" --should-decrement-desired-capacity >/dev/null; then
    log 'left the Auto Scaling group; shutting down'
  else
    log 'could not leave the Auto Scaling group; shutting down anyway'
  fi
  shutdown -P now "trainer finished: ${outcome}"
  exit 0
}

# A shutdown from outside (spot reclaim, scale-in, stop): pass the signal on to the container,
# which writes a checkpoint, and leave the instance to whoever is stopping it.
on_signal() {
  $finished && exit 0
  [[ -n $child ]] && kill -TERM "$child" 2>/dev/null
  finish interrupted 143
}
trap on_signal TERM INT

instance_id=$(imds instance-id) || instance_id=''
instance_type=$(imds instance-type) || instance_type=unknown

for name in MAX_RUNTIME_MINUTES TRAINER_IMAGE AWS_REGION BUCKET LOG_GROUP RUN_PARAMETER OUTCOME_PARAMETER MLFLOW_TRACKING_URI MLFLOW_SECRET_ARN MLFLOW_EXPERIMENT_NAME MLFLOW_UI_URL; do
  if [[ -z ${!name:-} ]]; then
    log "setting ${name} is missing from the user data"
    finish config-error 2
  fi
done
export AWS_DEFAULT_REGION=$AWS_REGION

if ! run_request=$(retry 3 aws ssm get-parameter --name "$RUN_PARAMETER" --query Parameter.Value --output text); then
  log "could not read the run request from ${RUN_PARAMETER}"
  finish config-error 2
fi
mapfile -t lines <<<"$run_request"
run_id=${lines[0]:-}
train_args=("${lines[@]:1}")
if [[ ! $run_id =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; then
  log "run id '${run_id}' in ${RUN_PARAMETER} is not valid"
  run_id=''
  finish config-error 2
fi
open_log_stream "${run_id}/${instance_id}"
log "run ${run_id} on ${instance_type} ${instance_id}; image ${TRAINER_IMAGE}; arguments: ${train_args[*]}"

if gpu_report=$(nvidia-smi 2>&1); then
  log "nvidia-smi: ${gpu_report}"
else
  log "nvidia-smi failed (the trainer's --require-gpu check will stop the run): ${gpu_report}"
fi

if ! secret=$(retry 3 aws secretsmanager get-secret-value --secret-id "$MLFLOW_SECRET_ARN" --query SecretString --output text); then
  log 'could not read the MLflow credentials'
  finish secret-failed 1
fi
# The secret is generated without punctuation, so a pattern is enough to take it apart.
MLFLOW_TRACKING_USERNAME=$(sed -n 's/.*"username" *: *"\([^"]*\)".*/\1/p' <<<"$secret")
MLFLOW_TRACKING_PASSWORD=$(sed -n 's/.*"password" *: *"\([^"]*\)".*/\1/p' <<<"$secret")
export MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD

# A prebuilt image may come from a public registry, which needs no login; ECR always does.
registry=${TRAINER_IMAGE%%/*}
ecr_login() { aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$registry"; }
if [[ $registry =~ \.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$ ]] && ! retry 3 ecr_login >/dev/null; then
  log "docker login to ${registry} failed"
  finish login-failed 1
fi
if ! retry 3 timeout 30m docker pull --quiet "$TRAINER_IMAGE" >/dev/null; then
  log "docker pull ${TRAINER_IMAGE} failed"
  finish pull-failed 1
fi
TRAINER_IMAGE_DIGEST=$(docker image inspect --format '{{index .RepoDigests 0}}' "$TRAINER_IMAGE" 2>/dev/null) || TRAINER_IMAGE_DIGEST=''
TRAINER_RUN_ID=$run_id
export TRAINER_IMAGE_DIGEST TRAINER_RUN_ID

# Stop the container early enough for its checkpoint and this script's last words to fit before the watchdog.
remaining=$(( deadline - $(date +%s) - STOP_GRACE_SECONDS - 120 ))
if (( remaining <= 0 )); then
  finish timeout 124
fi
log "starting the trainer (at most ${remaining} s)"
timeout --signal=TERM --kill-after="${STOP_GRACE_SECONDS}" "$remaining" \
  docker run --rm --name "$CONTAINER" --gpus all --stop-timeout "$STOP_GRACE_SECONDS" \
    --log-driver awslogs \
    --log-opt "awslogs-region=${AWS_REGION}" \
    --log-opt "awslogs-group=${LOG_GROUP}" \
    --log-opt "awslogs-stream=${run_id}/${instance_id}/trainer" \
    -e MLFLOW_TRACKING_URI -e MLFLOW_TRACKING_USERNAME -e MLFLOW_TRACKING_PASSWORD -e MLFLOW_EXPERIMENT_NAME \
    -e AWS_REGION -e AWS_DEFAULT_REGION -e TRAINER_IMAGE_DIGEST -e TRAINER_RUN_ID \
    "$TRAINER_IMAGE" train --require-gpu \
    --checkpoint-uri "s3://${BUCKET}/checkpoints/${run_id}" \
    --dataset-cache "s3://${BUCKET}/datasets/malaria/" \
    "${train_args[@]}" &
child=$!
# `wait` returns when a signal arrives, so the trap runs at once rather than after the container.
wait "$child"
code=$?
child=''

# The trainer checkpoints and exits on the spot two-minute notice; that is an interruption, not the end.
if spot_action=$(imds spot/instance-action) && [[ -n $spot_action ]]; then
  log "spot interruption notice: ${spot_action}"
  finish interrupted "$code"
fi
case $code in
  0) finish success 0 ;;
  124) finish timeout 124 ;;
  *) finish training-failed "$code" ;;
esac
