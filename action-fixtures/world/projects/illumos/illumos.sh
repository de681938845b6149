# Stand-in for the illumos.sh setup-illumos-host writes (the env file
# nightly reads, as illumos-gate's usr/src/tools/env/illumos.sh). The tests
# replace @WORKSPACE@ with the scratch workspace they copy this fixture to.
export GATE="illumos"
export CODEMGR_WS="@WORKSPACE@/projects/illumos"
export ROOT="@WORKSPACE@/proto"
export NIGHTLY_OPTIONS="-nCDAlmprt"
export MAX_JOBS="2"
export PRIMARY_CC="gcc10,@WORKSPACE@/tools/gcc,gnu"
export SHADOW_CCS=""
