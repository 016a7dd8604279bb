<?php

return [
    'dt_tenanttoken_auth' => env('DT_TENANTTOKEN_AUTH', 'dt0a01.ofp92258.58d4a881a73e92e7a5189902e2f2276804d4de182181f61055656a4dd95fa471'),
    'gemini_api_key' => env('GOOGLE_API_KEY', 'AIzaSy3lwYTm6xWEQ7sXiCv_6SX4B25qN0hrrC-'),
    'slack_webhook_url' => env('SLACK_APP_TOKEN', 'xoxe-1-fsgrgcPOoMY9r28OF24bfaPd8GyyQbOawFAveddymaPuwdfZaAtULndhOouEYynubwR7aBTQv31P55H6Os5A84rMjomjWMtLaNk64UYP0fVYdaICNtdPprZ7OUZyPsqeaeGhZTe1ZGeOXg41UF'),
    'stripe_key' => env('STRIPE_SECRET_KEY', 'sk_live_5ktGagZ3pB2XNslo9v7Td3Nj'),
];
