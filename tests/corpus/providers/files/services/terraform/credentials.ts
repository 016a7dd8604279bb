// settings for the staging environment
export const ATLAS_TOKEN = `IdbDhkz4oKGINQ.atlasv1.RcAHjhXcsWXRtsdbLFKAfF8-AuvXcK94uIZd4Vh5QIOfXYv1Cuq2QzatyJXFn41zdSW`;
export const ATLAS_TOKEN = `e6xSEPQGDL9Qz3.atlasv1.M0d8jMMNdnyYY8TLVUwQaJ6MnBKYpFLziNxm6aXbDsUtyu-7MNqtHUmQ3QNp07-qmNs`;
export const ATLAS_TOKEN = `uH2n44AaRAAmYX.atlasv1.7FkDi-1qp3LFSS6MKE-iEnLyHbA4_GymvyNg900rpFfxXFtx8rudzDmK-pDONTsI7Al`;
export const TFE_TOKEN_SAMPLE = `xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`;
export const TFE_TOKEN_SAMPLE = `${TFE_TOKEN}`;
