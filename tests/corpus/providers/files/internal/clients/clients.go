package clients

import "os"

const (
	defaultOpenai = "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"
	// OPENAI_API_KEY = "sk-proj-********************"
	defaultStripe = "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"
	// STRIPE_KEY = "pk_test_nbATC2PeIFXtuULecGkU9hPx"
	defaultAnthropic = "sk-ant-api03-mAmQ-eHLEOiiH-aAzKv8_9d1rdjIqysFJyGTSQLDDZ7wT1aS4bmmurSmdUqUaD99NEIH1K2uFh2vNMg-0MXPQZhhWQXg7AA"
	// ANTHROPIC_ADMIN_KEY = "sk-ant-api03-sSU-lkgkBWpWvKz15O-Op2tmM78ueXQlYoaO2StrI_rtKJVGPTQHsiHEuFhhoRWJPH4g5ydBedXL8Khs6WzK38NK5AcPyBB"
	defaultAtlassian = "ATATT3xFfGF08avxWM5qFndJLTL3DJz7wu2MZsGz1gvz5LcDsakSQ3C2S8Kn4pGORLBTirBtHD8ppGLzrYDvR87z2aSUttkmL8zTDhnBVqw-dAOrsgXyoOp7VhEFCcTERzRH4kALYn3YQkcOGU2aj6-O2xJlXrh2t83P9sRAFuwYJFIs491ID33=708969FB"
	// CONFLUENCE_TOKEN = "${JIRA_API_TOKEN}"
	defaultDockerhub = "dckr_pat_R6yhHRRgKK0OqorRmhCdtPPtMEK"
	// DOCKERHUB_TOKEN = "dckr_pat_124509ugsdjga93"
	defaultTerraform = "TEn2ZZaqcjLyYu.atlasv1.6_ety7smz7Cv_TYenbkiC4mcD6AhKMzoW7gqw3xqfTP1Cvsxq0Jl1PTf-EVLjQFXspt"
	// ATLAS_TOKEN = "${TFE_TOKEN}"
)

func token() string { return os.Getenv("TOKEN") }
