Rails.application.configure do
  config.x.openai_api_key = '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'
  config.x.github_pat = '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'
  config.x.gitlab_private_token = 'glpat-gM7fKRdCz1s2kUMrtdiNlmM6MQpvOmgKdToxCw.01.120dldsjy'
  config.x.gemini_api_key = 'AIzaSy7Ox2bMQ-Woj2LGMb3Y3A_atp4lgPg2Xm1'
end
