# do not commit real values here
export DOCKER_HUB_ACCESS_TOKEN='dckr_pat_VVe5K22YfYG6Lb0ujt5VWa2bauc'
export DOCKERHUB_TOKEN='dckr_pat_i4Dj4QIzlk524o1yzhqTMUsF6Bi'
export DOCKER_HUB_ACCESS_TOKEN='dckr_pat_VOtsf2sxON5QMqg3fU2m5P5GHD7'
export DOCKERHUB_TOKEN_SAMPLE='dckr_pat_124509ugsdjga93'
export DOCKER_HUB_ACCESS_TOKEN_SAMPLE='dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx'
export DOCKERHUB_TOKEN_SAMPLE='${{ secrets.DOCKERHUB_TOKEN }}'
