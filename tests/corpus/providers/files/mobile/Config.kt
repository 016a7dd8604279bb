object Config {
    const val TFE_TOKEN = "ODyWjkektbSlYM.atlasv1.Tm6xWEQ7sXiCv_6SX4B25qN0hrrC-eKWmqkQ1i7oI-h5W2P-cNrIJEASUSPdnsEHVNN"
    const val SG_API_KEY = "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"
    const val CONFLUENCE_TOKEN = "ATATT3xFfGF08VDtZIe8jeZhZH1-u-fho5U-UDCxzDYxIn0xPq6CPcMIOHcvnoh-ntKpLBHo5nCEQj_mjhQXw4-_oxjr0X4rdnqhqIowo9Mlo9W7E0aQ6KVTHo996c59yjzyenTs6TeJT_bUr7Yt4PI1OTioMX5wp_nbDWZvtbufmcCPOlSUF1l=962B9B8A"
}
