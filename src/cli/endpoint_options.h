// cli/endpoint_options: the command-line options for talking to an endpoint, shared by pot verify
// --endpoint and pot endpoint probe, turned into http/endpoint options. The API key is read from the
// environment variable or file named (never from the command line, where ps and shell history would show
// it) and goes only into the HTTP client's Authorization header.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "endpoint/endpoint.h"
#include "env/env.h"
#include "evidence/transcript.h"

namespace pot::cli {

// specs with --api, --model, --api-key-env, --api-key-file, --timeout, --connect-timeout, --retries added.
std::vector<OptionSpec> WithEndpointOptions(std::vector<OptionSpec> specs);

// The base URL of url (checked: http or https, a host; a trailing "/" dropped) and its form for messages.
Status EndpointUrl(const std::string& url, std::string* base, std::string* display);

Status HttpOptionsFromArgs(const Args& args, Env* env, http::Options* out);

// verify --endpoint: everything endpoint::Scorer needs but the reference side, and the transcript's
// description of the endpoint. Probes the endpoint (a few short requests) when --api or --score is not
// given, to detect the API and pick the strongest score it supports; prints what it chose.
// Without --epsilon, the test's epsilon becomes the chosen score's calibrated tolerance (endpoint::CalibrationOf).
Status EndpointRunFromArgs(const Args& args, Env* env, endpoint::Options* options, evidence::EndpointRef* ref,
                           stats::TestParams* test);

}  // namespace pot::cli
