<?php
/** Removing the plugin removes its settings and everything it cached. */

declare(strict_types=1);

if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}

delete_option('membership_access');
global $wpdb;
$wpdb->query(
    "DELETE FROM {$wpdb->options} WHERE option_name LIKE '\\_transient\\_membership\\_access\\_%'"
    . " OR option_name LIKE '\\_transient\\_timeout\\_membership\\_access\\_%'"
);
