#!/usr/bin/env bash
echo "deploying $SERVICE"
if [ -z "$REGION" ]; then REGION=eu-west-1; fi
curl -sf -H "Authorization: Bearer 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" https://api.example.com/v1/status
export OPENAI_API_KEY=sk-proj-your-api-key-here
export OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
export TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmcCJGJkOTc3MDEyLWY4MTEtNDdjOS05MjEyLTY5NjkzMmU1YzJjZAACLFsxLFsiYmQ5NzcwMTItZjgxMS00N2M5LTkyMTItNjk2OTMyZTVjMmNkIl1dAAAGIIZhsmBSgfZhOc8XXWYcHw-vsAD14aYJA7-2x_0Nq1UP
export TWINE_PASSWORD=${{ secrets.PYPI_API_TOKEN }}
export TWINE_PASSWORD=pypi-<your-token>
export VAULT_ROOT_TOKEN=hvs.CAESI91YP1PkGs90rgTLfX3YF3mcahrp_cEINzW12XsAACwDGrE3vEyYdLaWBFic75IpII-XLPD8_2l-VW2BAB3q67k
export VAULT_ROOT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX
export VAULT_ROOT_TOKEN=hvs.CAESIABcDeFgHiJkLmNoPqRsTuVwXyZ
TFE_TOKEN="${TFE_TOKEN:-dR3w5ajTrFit9M.atlasv1.Ws2mcYB5lh-AC-Bl4hhe8MdfmAS3rLV1frdhswzU0xHWKH7FfqzDw01SWnhe6v-tM7x}"
export ATLAS_TOKEN=${TFE_TOKEN}
export ATLAS_TOKEN=xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
export DOCKER_PASSWORD=dckr_pat_Dksqzqg3gqWCHDjmvMhmBtN_398
export DOCKERHUB_TOKEN=dckr_pat_124509ugsdjga93
export DOCKER_HUB_ACCESS_TOKEN=${{ secrets.DOCKERHUB_TOKEN }}
curl -sf -H "Authorization: Bearer gldt-6oS5tGim8xiCBHRkmlx6i2M6MQpvOjEKdTo2Cw.01.120j0qvq3" https://api.example.com/v1/status
export CI_DEPLOY_PASSWORD=glpat-********************
export CI_DEPLOY_PASSWORD=glpat-XXXXXXXXXXX-XXXXXXXX
docker compose up -d
if [ -z "$REGION" ]; then REGION=eu-west-1; fi
cd "$(dirname "$0")"
