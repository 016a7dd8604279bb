<?php

return [
    'vault_root_token' => env('VAULT_ROOT_TOKEN', 'hvs.CAESI1I1_ggzRFPdVn7ctk7kK9te6RIG2qfmTfXb4U9XRrWi2SpjhHoeN5kJ6eqWHhlmAK7L_JJcZjBQ0T04GjIHhH8'),
    'openai_key' => env('OPENAI_ADMIN_KEY', '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'),
    'tf_token_app_terraform_io' => env('ATLAS_TOKEN', 'qN3LtuUUKBOlO7.atlasv1.dcTy8ARBwpsEeGlWZz3NZiZOkQyEDu2i7nBrONVfhMW1Pl7sk3nv7lL5QGsZ4b1rBgl'),
    'edgeconnect_secret_placeholder' => env('EDGECONNECT_SECRET_PLACEHOLDER', 'dt0e01.5QLKYRM33R4OXAHIDH4C26DO.DP4U3NPP73BXVRLDX34JKUJLLRKAUKEARDMDSG2H5RVN4MWTCCCNYN5FIZGQFMKU'),
];
