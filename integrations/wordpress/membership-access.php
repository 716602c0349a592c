<?php
/**
 * Plugin Name:       Membership Access
 * Description:       Members-only articles and the fundraiser widget from your membership backend. Posts are cut on the server for readers who may not read them; members' access tokens are verified offline.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      8.2
 * License:           AGPL-3.0-or-later
 * Text Domain:       membership-access
 * Domain Path:       /languages
 */

declare(strict_types=1);

namespace MembershipAccess;

if (!defined('ABSPATH')) {
    exit;
}

const VERSION = '1.0.0';
const TEXT_DOMAIN = 'membership-access';

require_once __DIR__ . '/includes/Settings.php';
require_once __DIR__ . '/includes/Backend.php';
require_once __DIR__ . '/includes/KeySet.php';
require_once __DIR__ . '/includes/Verifier.php';
require_once __DIR__ . '/includes/Rules.php';
require_once __DIR__ . '/includes/Gate.php';
require_once __DIR__ . '/includes/Fundraiser.php';
require_once __DIR__ . '/includes/Translations.php';

Translations::register();
Settings::register();
Gate::register(plugin_dir_url(__FILE__));
Fundraiser::register(plugin_dir_url(__FILE__));
