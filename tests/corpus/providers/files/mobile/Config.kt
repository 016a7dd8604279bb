object Config {
    const val SG_API_KEY = "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"
    const val AZURE_CLIENT_SECRET = "DefaultEndpointsProtocol=https;AccountName=stpt521mpyfl;AccountKey=gYaCmEtRd1uIExZS8qE3x/MAtUvexYVT2dQJcX48CdZuP7U+Hwn6xhTTfehCCEciOw7PrKowCR7/dqqQSy4vPA==;EndpointSuffix=core.windows.net"
    const val DYNATRACE_API_TOKEN = "dt0c01.GI2XW35EC65SQ6URDWTHLAXD.4IRW5FIKVWB54GQIOBTKZFZC6FTUAJAQ23TDOI6AZ6DG4KFSYQK7JBDNXK2HKQBG"
}
