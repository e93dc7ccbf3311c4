"""Config flow: pick a model (bundled, a local GGUF, one from Hugging Face, or one on an
inference server), then tune how it loads (options) and add conversation agents and AI task
entities (subentries)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.requirements import RequirementsNotFound, async_process_requirements

from .const import (
    CHAT_TEMPLATE_AUTO,
    CONF_API,
    CONF_API_KEY,
    CONF_CHAT_TEMPLATE,
    CONF_CONFIRM_RISKY_ACTIONS,
    CONF_CONTEXT_LENGTH,
    CONF_EXTRA_ATTRIBUTES,
    CONF_FILENAME,
    CONF_GRAMMAR_FIELD,
    CONF_IN_CONTEXT_EXAMPLES,
    CONF_LORA_PATH,
    CONF_MAX_TOKENS,
    CONF_MERGE_ADAPTER,
    CONF_MODEL,
    CONF_MODEL_PATH,
    CONF_MODEL_SOURCE,
    CONF_PROMPT_PRESET,
    CONF_QUANTIZATION,
    CONF_REMEMBER_TURNS,
    CONF_REPO_ID,
    CONF_TEMPERATURE,
    CONF_THREADS,
    CONF_TOP_K,
    CONF_TOP_P,
    CONF_URL,
    CONF_USE_GRAMMAR,
    CONF_VERIFY_SSL,
    DEFAULT_AGENT_NAME,
    DEFAULT_AI_TASK_NAME,
    DEFAULT_AI_TASK_OPTIONS,
    DEFAULT_QUANTIZATION,
    DEFAULT_REMOTE_CHAT_TEMPLATE,
    DOMAIN,
    LOGGER,
    MODELS_DIR,
    SOURCE_BUNDLED,
    SOURCE_HUGGINGFACE,
    SOURCE_LOCAL_FILE,
    SOURCE_REMOTE,
    SUBENTRY_AI_TASK,
    SUBENTRY_CONVERSATION,
    agent_defaults,
)
from .home_llm_core.defaults import (
    BUNDLED_270M,
    BUNDLED_270M_REQUIREMENT,
    BUNDLED_270M_TITLE,
    BUNDLED_MODEL_TITLE,
    DEFAULT_CONTEXT_LENGTH,
    DEFAULT_THREADS,
    BundledModelMissingError,
    assemble_270m_base,
)
from .home_llm_core.gguf_metadata import InvalidGGUFError, check_lora_fits, read_gguf_metadata
from .home_llm_core.home_format import DEFAULT_ATTRIBUTES, GGUF_TEMPLATE, PRESETS, TEMPLATES
from .home_llm_core.remote_engine import (
    API_OPENAI,
    APIS,
    GRAMMAR_FIELD_LLAMA_CPP,
    GRAMMAR_FIELD_NONE,
    GRAMMAR_FIELDS,
    AuthRefusedError,
    RemoteEngine,
    RemoteError,
    split_server_url,
)
from .model_download import (
    HubUnreachableError,
    ModelDownloadError,
    NoGGUFFilesError,
    QuantizationNotFoundError,
    RepoNotFoundError,
    choose_file,
    download_model,
    find_gguf_files,
)
from .model_files import data_of_270m, read_model_files


def _default_subentry(entry_data: dict[str, Any]) -> ConfigSubentryData:
    return ConfigSubentryData(
        subentry_type=SUBENTRY_CONVERSATION,
        data=agent_defaults(entry_data),
        title=DEFAULT_AGENT_NAME,
        unique_id=None,
    )


class HomeLLMConfigFlow(ConfigFlow, domain=DOMAIN):
    """Adds one model; its first conversation agent comes with it."""

    VERSION = 1
    MINOR_VERSION = 2  # 1.2: agents of the bundled model on the v2 format (__init__.async_migrate_entry)

    def __init__(self) -> None:
        self._repo_id = ""
        self._filename = ""
        self._files: list[str] = []
        self._available: list[str] = []
        self._download_task: asyncio.Task[Path] | None = None
        self._install_task: asyncio.Task[dict[str, Any]] | None = None
        self._model_path = Path()
        self._download_error = ""
        self._remote: dict[str, Any] = {}
        self._models: list[str] = []

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> HomeLLMOptionsFlow:
        return HomeLLMOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(cls, config_entry: ConfigEntry) -> dict[str, type[ConfigSubentryFlow]]:
        return {SUBENTRY_CONVERSATION: ConversationSubentryFlow, SUBENTRY_AI_TASK: AITaskSubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(
            step_id="user", menu_options=[SOURCE_BUNDLED, BUNDLED_270M, SOURCE_LOCAL_FILE, SOURCE_HUGGINGFACE, SOURCE_REMOTE]
        )

    async def async_step_bundled(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        try:
            await self.hass.async_add_executor_job(read_model_files, {CONF_MODEL_SOURCE: SOURCE_BUNDLED})
        except (BundledModelMissingError, InvalidGGUFError) as err:
            return self.async_abort(reason="bundled_model_missing", description_placeholders={"error": str(err)})
        await self.async_set_unique_id(SOURCE_BUNDLED)
        self._abort_if_unique_id_configured()
        return self._create_model_entry(BUNDLED_MODEL_TITLE, {CONF_MODEL_SOURCE: SOURCE_BUNDLED})

    async def async_step_home_llm_270m(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Home LLM 270M: its base's package is installed and the base assembled in the config
        folder (a progress step: 253 MB), then base and adapter are checked."""
        await self.async_set_unique_id(BUNDLED_270M)
        self._abort_if_unique_id_configured()
        if self._install_task is None:
            self._install_task = self.hass.async_create_task(self._async_install_270m())
        if not self._install_task.done():
            return self.async_show_progress(
                step_id=BUNDLED_270M, progress_action="install_270m", progress_task=self._install_task
            )
        try:
            self._install_task.result()
        except (RequirementsNotFound, BundledModelMissingError, InvalidGGUFError) as err:
            self._download_error = str(err)
            return self.async_show_progress_done(next_step_id="install_failed")
        return self.async_show_progress_done(next_step_id="install_done")

    async def _async_install_270m(self) -> dict[str, Any]:
        """The entry's data, once its files are in place and checked."""
        await async_process_requirements(self.hass, DOMAIN, [BUNDLED_270M_REQUIREMENT], is_built_in=False)
        path = await self.hass.async_add_executor_job(assemble_270m_base, Path(self.hass.config.path(MODELS_DIR)))
        data = data_of_270m(path)
        await self.hass.async_add_executor_job(read_model_files, data)
        return data

    async def async_step_install_done(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        assert self._install_task is not None  # reached only from the finished install step
        return self._create_model_entry(BUNDLED_270M_TITLE, self._install_task.result())

    async def async_step_install_failed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        LOGGER.error("Setting up Home LLM 270M failed: %s", self._download_error)
        return self.async_abort(reason="bundled_model_missing", description_placeholders={"error": self._download_error})

    async def async_step_local_file(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            # Reading the files (and expanding ~) blocks: done in the executor, not the event loop.
            checked = await self.hass.async_add_executor_job(
                _check_local_files, user_input[CONF_MODEL_PATH], user_input.get(CONF_LORA_PATH, "").strip()
            )
            if isinstance(checked, _LocalFileError):
                errors[checked.field] = checked.error
                placeholders["error"] = checked.message
            else:
                await self.async_set_unique_id(checked.unique_id)
                self._abort_if_unique_id_configured()
                return self._create_model_entry(checked.title, checked.data)
        defaults = user_input or {}
        schema = vol.Schema(
            {
                vol.Required(CONF_MODEL_PATH, default=defaults.get(CONF_MODEL_PATH, "")): str,
                vol.Optional(CONF_LORA_PATH, default=defaults.get(CONF_LORA_PATH, "")): str,
            }
        )
        return self.async_show_form(
            step_id="local_file", data_schema=schema, errors=errors, description_placeholders=placeholders
        )

    async def async_step_huggingface(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            self._repo_id = user_input[CONF_REPO_ID].strip()
            try:
                self._files = await self.hass.async_add_executor_job(find_gguf_files, self._repo_id)
                self._filename = choose_file(self._files, user_input[CONF_QUANTIZATION])
            except QuantizationNotFoundError as err:
                self._available = err.available
                return await self.async_step_pick_quantization()
            except HubUnreachableError as err:
                errors["base"] = "hub_unreachable"
                placeholders["error"] = str(err)
            except RepoNotFoundError:
                errors[CONF_REPO_ID] = "repo_not_found"
            except NoGGUFFilesError:
                errors[CONF_REPO_ID] = "no_gguf_files"
            except ModelDownloadError as err:
                errors["base"] = "download_failed"
                placeholders["error"] = str(err)
            else:
                return await self.async_step_download()
        defaults = user_input or {}
        schema = vol.Schema(
            {
                vol.Required(CONF_REPO_ID, default=defaults.get(CONF_REPO_ID, "")): str,
                vol.Required(CONF_QUANTIZATION, default=defaults.get(CONF_QUANTIZATION, DEFAULT_QUANTIZATION)): str,
            }
        )
        return self.async_show_form(
            step_id="huggingface", data_schema=schema, errors=errors, description_placeholders=placeholders
        )

    async def async_step_pick_quantization(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The requested quantization isn't in the repo: offer the ones that are."""
        if user_input is not None:
            self._filename = choose_file(self._files, user_input[CONF_QUANTIZATION])
            return await self.async_step_download()
        schema = vol.Schema(
            {vol.Required(CONF_QUANTIZATION): selector.SelectSelector(selector.SelectSelectorConfig(options=self._available))}
        )
        return self.async_show_form(
            step_id="pick_quantization", data_schema=schema, description_placeholders={"repo_id": self._repo_id}
        )

    async def async_step_download(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if self._download_task is None:
            self._download_task = self.hass.async_create_task(self._async_download())
        if not self._download_task.done():
            return self.async_show_progress(
                step_id="download",
                progress_action="download",
                progress_task=self._download_task,
                description_placeholders={"filename": self._filename, "repo_id": self._repo_id},
            )
        try:
            path = self._download_task.result()
            await self.hass.async_add_executor_job(read_gguf_metadata, path)
        except (ModelDownloadError, InvalidGGUFError) as err:
            self._download_error = str(err)
            return self.async_show_progress_done(next_step_id="download_failed")
        self._model_path = path
        return self.async_show_progress_done(next_step_id="download_done")

    async def _async_download(self) -> Path:
        dest = Path(self.hass.config.path(MODELS_DIR))

        def progress(fraction: float) -> None:  # called from the download thread
            self.hass.loop.call_soon_threadsafe(self.async_update_progress, fraction)

        return await self.hass.async_add_executor_job(
            lambda: download_model(self._repo_id, self._filename, dest, progress=progress)
        )

    async def async_step_download_done(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        await self.async_set_unique_id(str(self._model_path.resolve()))
        self._abort_if_unique_id_configured()
        return self._create_model_entry(
            f"{self._repo_id} ({self._filename})",
            {
                CONF_MODEL_SOURCE: SOURCE_HUGGINGFACE,
                CONF_MODEL_PATH: str(self._model_path),
                CONF_REPO_ID: self._repo_id,
                CONF_FILENAME: self._filename,
            },
        )

    async def async_step_download_failed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        LOGGER.error("Downloading %s from %s failed: %s", self._filename, self._repo_id, self._download_error)
        return self.async_abort(reason="download_failed", description_placeholders={"error": self._download_error})

    async def async_step_remote(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """An inference server: its API, URL and key; it is asked for its models before going on."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            self._remote = {
                CONF_API: user_input[CONF_API],
                CONF_URL: user_input[CONF_URL].strip(),
                CONF_API_KEY: user_input.get(CONF_API_KEY, "").strip(),
                CONF_VERIFY_SSL: user_input[CONF_VERIFY_SSL],
            }
            try:
                self._models = await self._remote_engine().list_models()
            except ValueError as err:
                errors[CONF_URL] = "invalid_url"
                placeholders["error"] = str(err)
            except AuthRefusedError as err:
                errors["base"] = "invalid_auth"
                placeholders["error"] = str(err)
            except RemoteError as err:
                errors["base"] = "cannot_connect"
                placeholders["error"] = str(err)
            else:
                if self._models:
                    return await self.async_step_remote_model()
                errors["base"] = "no_models"
        defaults = user_input or {}
        schema = vol.Schema(
            {
                vol.Required(CONF_API, default=defaults.get(CONF_API, API_OPENAI)): selector.SelectSelector(
                    selector.SelectSelectorConfig(options=list(APIS), translation_key=CONF_API)
                ),
                vol.Required(CONF_URL, default=defaults.get(CONF_URL, "")): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
                ),
                vol.Optional(CONF_API_KEY, default=defaults.get(CONF_API_KEY, "")): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                ),
                vol.Required(CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(step_id="remote", data_schema=schema, errors=errors, description_placeholders=placeholders)

    async def async_step_remote_model(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One of the server's models, and how Home LLM prompts it."""
        api, url = self._remote[CONF_API], self._remote[CONF_URL]
        root, _auth = split_server_url(url, api)
        if user_input is not None:
            model = user_input[CONF_MODEL]
            data = {
                CONF_MODEL_SOURCE: SOURCE_REMOTE,
                **self._remote,
                CONF_MODEL: model,
                CONF_GRAMMAR_FIELD: user_input.get(CONF_GRAMMAR_FIELD, GRAMMAR_FIELD_NONE)
                if api == API_OPENAI
                else GRAMMAR_FIELD_NONE,
            }
            # The same model on the same server is one entry, however the URL was written.
            await self.async_set_unique_id(f"{str(root).rstrip('/')} {model}")
            self._abort_if_unique_id_configured()
            options = {
                CONF_CHAT_TEMPLATE: user_input[CONF_CHAT_TEMPLATE],
                CONF_CONTEXT_LENGTH: int(user_input[CONF_CONTEXT_LENGTH]),
            }
            # llama-cpp-python's server names a model by its file path unless given an alias.
            name = Path(model).name if model.endswith(".gguf") else model
            return self._create_model_entry(f"{name} on {root.host_port_subcomponent}", data, options)
        fields: dict[Any, Any] = {
            vol.Required(CONF_MODEL, default=self._models[0]): selector.SelectSelector(
                selector.SelectSelectorConfig(options=self._models)
            ),
            vol.Required(CONF_CHAT_TEMPLATE, default=DEFAULT_REMOTE_CHAT_TEMPLATE): _template_selector(list(TEMPLATES)),
        }
        if api == API_OPENAI:
            fields[vol.Required(CONF_GRAMMAR_FIELD, default=GRAMMAR_FIELD_LLAMA_CPP)] = selector.SelectSelector(
                selector.SelectSelectorConfig(options=list(GRAMMAR_FIELDS), translation_key=CONF_GRAMMAR_FIELD)
            )
        fields[vol.Required(CONF_CONTEXT_LENGTH, default=DEFAULT_CONTEXT_LENGTH)] = _int_box(512, 131072, 256)
        return self.async_show_form(
            step_id="remote_model", data_schema=vol.Schema(fields), description_placeholders={"url": str(root).rstrip("/")}
        )

    def _remote_engine(self) -> RemoteEngine:
        """An engine for the server entered so far, on Home Assistant's shared HTTP session (raises ValueError)."""
        verify = self._remote[CONF_VERIFY_SSL]
        return RemoteEngine(
            self._remote[CONF_URL],
            "",
            api=self._remote[CONF_API],
            api_key=self._remote[CONF_API_KEY] or None,
            verify_ssl=verify,
            session=async_get_clientsession(self.hass, verify_ssl=verify),
        )

    def _create_model_entry(self, title: str, data: dict[str, Any], options: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_create_entry(title=title, data=data, options=options, subentries=[_default_subentry(data)])


def _template_selector(templates: list[str]) -> selector.SelectSelector:
    return selector.SelectSelector(selector.SelectSelectorConfig(options=templates, translation_key=CONF_CHAT_TEMPLATE))


def _int_box(low: int, high: int, step: int = 1) -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(min=low, max=high, step=step, mode=selector.NumberSelectorMode.BOX)
    )


class HomeLLMOptionsFlow(OptionsFlow):
    """How the model is loaded: chat template, context length, threads, adapter merged or not;
    for a model on a server only the chat template and the context length apply."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if self.config_entry.data.get(CONF_MODEL_SOURCE) == SOURCE_REMOTE:
            return await self.async_step_remote()
        if user_input is not None:
            user_input[CONF_CONTEXT_LENGTH] = int(user_input[CONF_CONTEXT_LENGTH])
            user_input[CONF_THREADS] = int(user_input[CONF_THREADS])
            return self.async_create_entry(data=user_input)
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(CONF_CHAT_TEMPLATE, default=options.get(CONF_CHAT_TEMPLATE, CHAT_TEMPLATE_AUTO)): _template_selector(
                    [CHAT_TEMPLATE_AUTO, *TEMPLATES, GGUF_TEMPLATE]
                ),
                vol.Required(CONF_CONTEXT_LENGTH, default=options.get(CONF_CONTEXT_LENGTH, DEFAULT_CONTEXT_LENGTH)): _int_box(
                    512, 131072, 256
                ),
                vol.Required(CONF_THREADS, default=options.get(CONF_THREADS, DEFAULT_THREADS)): _int_box(0, 256),
                vol.Required(CONF_MERGE_ADAPTER, default=options.get(CONF_MERGE_ADAPTER, True)): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)

    async def async_step_remote(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            user_input[CONF_CONTEXT_LENGTH] = int(user_input[CONF_CONTEXT_LENGTH])
            return self.async_create_entry(data=user_input)
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_CHAT_TEMPLATE, default=options.get(CONF_CHAT_TEMPLATE, DEFAULT_REMOTE_CHAT_TEMPLATE)
                ): _template_selector(list(TEMPLATES)),
                vol.Required(CONF_CONTEXT_LENGTH, default=options.get(CONF_CONTEXT_LENGTH, DEFAULT_CONTEXT_LENGTH)): _int_box(
                    512, 131072, 256
                ),
            }
        )
        return self.async_show_form(step_id="remote", data_schema=schema)


class ConversationSubentryFlow(ConfigSubentryFlow):
    """Adds or reconfigures one conversation agent: prompt, sampling, examples, attributes."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        if user_input is not None:
            name = user_input.pop(CONF_NAME)
            return self.async_create_entry(title=name, data=_clean(user_input))
        defaults = agent_defaults(self._get_entry().data)
        return self.async_show_form(step_id="user", data_schema=_agent_schema(defaults, name=DEFAULT_AGENT_NAME))

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            return self.async_update_and_abort(self._get_entry(), subentry, data=_clean(user_input))
        return self.async_show_form(
            step_id="reconfigure", data_schema=_agent_schema({**agent_defaults(self._get_entry().data), **subentry.data})
        )


class AITaskSubentryFlow(ConfigSubentryFlow):
    """Adds or reconfigures one AI task entity: its name and its temperature."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        if user_input is not None:
            name = user_input.pop(CONF_NAME)
            return self.async_create_entry(title=name, data=user_input)
        return self.async_show_form(
            step_id="user", data_schema=_ai_task_schema(DEFAULT_AI_TASK_OPTIONS, name=DEFAULT_AI_TASK_NAME)
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            return self.async_update_and_abort(self._get_entry(), subentry, data=user_input)
        return self.async_show_form(
            step_id="reconfigure", data_schema=_ai_task_schema({**DEFAULT_AI_TASK_OPTIONS, **subentry.data})
        )


def _ai_task_schema(values: dict[str, Any], name: str | None = None) -> vol.Schema:
    fields: dict[Any, Any] = {}
    if name is not None:
        fields[vol.Required(CONF_NAME, default=name)] = str
    fields[vol.Required(CONF_TEMPERATURE, default=values[CONF_TEMPERATURE])] = selector.NumberSelector(
        selector.NumberSelectorConfig(min=0, max=2, step=0.05)
    )
    return vol.Schema(fields)


def _clean(user_input: dict[str, Any]) -> dict[str, Any]:
    """Number selectors return floats; counts are integers."""
    for key in (CONF_TOP_K, CONF_MAX_TOKENS, CONF_IN_CONTEXT_EXAMPLES, CONF_REMEMBER_TURNS):
        user_input[key] = int(user_input[key])
    return user_input


def _agent_schema(values: dict[str, Any], name: str | None = None) -> vol.Schema:
    fields: dict[Any, Any] = {}
    if name is not None:
        fields[vol.Required(CONF_NAME, default=name)] = str
    fields.update(
        {
            vol.Required(CONF_PROMPT_PRESET, default=values[CONF_PROMPT_PRESET]): selector.SelectSelector(
                selector.SelectSelectorConfig(options=list(PRESETS), translation_key=CONF_PROMPT_PRESET)
            ),
            vol.Required(CONF_IN_CONTEXT_EXAMPLES, default=values[CONF_IN_CONTEXT_EXAMPLES]): _int_box(0, 8),
            vol.Required(CONF_TEMPERATURE, default=values[CONF_TEMPERATURE]): selector.NumberSelector(
                selector.NumberSelectorConfig(min=0, max=2, step=0.05)
            ),
            vol.Required(CONF_TOP_P, default=values[CONF_TOP_P]): selector.NumberSelector(
                selector.NumberSelectorConfig(min=0, max=1, step=0.05)
            ),
            vol.Required(CONF_TOP_K, default=values[CONF_TOP_K]): _int_box(0, 200),
            vol.Required(CONF_MAX_TOKENS, default=values[CONF_MAX_TOKENS]): _int_box(16, 2048),
            vol.Required(CONF_USE_GRAMMAR, default=values[CONF_USE_GRAMMAR]): bool,
            vol.Required(CONF_REMEMBER_TURNS, default=values[CONF_REMEMBER_TURNS]): _int_box(0, 10),
            vol.Required(CONF_CONFIRM_RISKY_ACTIONS, default=values[CONF_CONFIRM_RISKY_ACTIONS]): bool,
            vol.Required(CONF_EXTRA_ATTRIBUTES, default=values[CONF_EXTRA_ATTRIBUTES]): selector.SelectSelector(
                selector.SelectSelectorConfig(options=list(DEFAULT_ATTRIBUTES), multiple=True, custom_value=True)
            ),
        }
    )
    return vol.Schema(fields)


@dataclass(frozen=True, slots=True)
class _LocalFiles:
    data: dict[str, Any]
    unique_id: str
    title: str


@dataclass(frozen=True, slots=True)
class _LocalFileError:
    field: str
    error: str  # the translation key
    message: str


def _check_local_files(model_text: str, lora_text: str) -> _LocalFiles | _LocalFileError:
    """Check a model GGUF and an optional LoRA adapter for it (blocking: file access)."""
    path = Path(model_text).expanduser()
    lora_path = Path(lora_text).expanduser() if lora_text else None
    try:
        info = read_gguf_metadata(path)
    except InvalidGGUFError as err:
        return _LocalFileError(CONF_MODEL_PATH, "invalid_gguf" if path.exists() else "file_not_found", str(err))
    data = {CONF_MODEL_SOURCE: SOURCE_LOCAL_FILE, CONF_MODEL_PATH: str(path)}
    unique_id = str(path.resolve())
    title = info.name or path.stem
    if lora_path is not None:
        try:
            check_lora_fits(read_gguf_metadata(lora_path), info, lora_path.name)
        except InvalidGGUFError as err:
            return _LocalFileError(CONF_LORA_PATH, "invalid_adapter" if lora_path.exists() else "file_not_found", str(err))
        data[CONF_LORA_PATH] = str(lora_path)
        unique_id += f"+{lora_path.resolve()}"
        title += f" + {lora_path.stem}"
    return _LocalFiles(data, unique_id, title)
