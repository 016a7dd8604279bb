object Config {
    const val VAULT_TOKEN = "hvs.CAESIih3kfNuXLCVLogZqvwxjuyaClZFByhVpHaqgU0tnNVesHJAvF_jAoF3ls-XMpUSGRJ8Ruq-gyRXT2BfRe9nk63"
    const val STRIPE_SECRET_KEY = "sk_test_51YEootOveJydhxJigcuu9b1r2GW6G5IkawXWrnwbhd5nE9Cteviy9dvSv12qQieUR7DW4TnHLAXDsh8cI7RmWdFIKkVWhyBqyd"
    const val SENDGRID_API_KEY = "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"
}
