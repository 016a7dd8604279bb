# see docs/setup.md
export DOCKERHUB_TOKEN='dckr_pat_EIiQVH2RvCJb_PopNzFte6XJXzx'
export DOCKER_PASSWORD='dckr_pat_2X58VArmf96gptM88xFSneCQD11'
export DOCKER_HUB_ACCESS_TOKEN='dckr_pat_NyA2cWCVFgOAjVG0RQrAcbG8m9N'
export DOCKER_HUB_ACCESS_TOKEN_SAMPLE='dckr_pat_124509ugsdjga93'
export DOCKERHUB_TOKEN_SAMPLE='dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx'
export DOCKER_HUB_ACCESS_TOKEN_SAMPLE='${{ secrets.DOCKERHUB_TOKEN }}'
